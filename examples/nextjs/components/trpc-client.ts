import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import type { AppRouter } from '../server/app-router';

/**
 * The browser's typed tRPC client: subscriptions (`calltrack.onCallEvent`) over Server-Sent
 * Events, which resume with the last event id after a drop; queries batched over HTTP.
 */
export function createAppTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: '/api/trpc' }),
        false: httpBatchLink({ url: '/api/trpc' }),
      }),
    ],
  });
}

/** What `createAppTrpcClient` returns. */
export type AppTrpcClient = ReturnType<typeof createAppTrpcClient>;

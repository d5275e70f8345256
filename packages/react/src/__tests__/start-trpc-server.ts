import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallSnapshot } from '@calltrack/core';
import { serveForTest } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { createCallTrackRouter } from '@calltrack/trpc';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { trpcTransport } from '../trpc-transport';

/** The test app's context: the tenant, from the bearer token (the token is the tenant id). */
interface TestContext {
  tenantId?: string;
}

const t = initTRPC.context<TestContext>().create();

function createContext({ req }: CreateHTTPContextOptions): TestContext {
  const header = req.headers.authorization ?? '';
  return header.startsWith('Bearer ') ? { tenantId: header.slice('Bearer '.length) } : {};
}

function makeAppRouter(bus: EventBus, tracker: CallTracker) {
  return t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      tracker,
      getPrincipal: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
    }),
  });
}
type AppRouter = ReturnType<typeof makeAppRouter>;

/** A real `@calltrack/trpc` server (standalone adapter, memory bus + tracker) on 127.0.0.1. */
export interface TrpcTestServer {
  url: string;
  bus: EventBus;
  tracker: CallTracker;
  /** Destroys every open connection, as a network drop would. */
  dropConnections(): void;
  close(): Promise<void>;
}

/** Starts the server; `history` limits the bus history (to force a `reset` on resume). */
export async function startTrpcServer(history?: { maxEvents: number }): Promise<TrpcTestServer> {
  const bus = createMemoryBus(history ? { history } : {});
  const tracker = createCallTracker({ bus });
  const served = await serveForTest(
    createHTTPServer({ router: makeAppRouter(bus, tracker), createContext }),
  );
  return {
    url: served.url,
    bus,
    tracker,
    dropConnections: served.dropConnections,
    async close() {
      await served.close();
      await bus.close();
    },
  };
}

/**
 * The real typed tRPC client of tenant `tenantId`: subscriptions over SSE
 * (`httpSubscriptionLink` with the `eventsource` package, the bearer token sent through its
 * `fetch`), everything else through `httpBatchLink`.
 */
export function createTrpcTestClient(url: string, tenantId: string): TRPCClient<AppRouter> {
  const authorization = { authorization: `Bearer ${tenantId}` };
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink<AppRouter, typeof EventSource>({
          url,
          EventSource,
          eventSourceOptions: {
            fetch: (input, init) =>
              fetch(input, { ...init, headers: { ...init?.headers, ...authorization } }),
          },
        }),
        false: httpBatchLink<AppRouter>({ url, headers: authorization }),
      }),
    ],
  });
}

/**
 * `trpcTransport` wired to the typed client exactly as the README shows. `lastEventId`, when
 * given, is sent with the first subscription (to make the server answer with a `reset`); `limit`
 * is the snapshot query's; `plainList` loads with `activeCalls` (a bare array, no `complete`)
 * instead of `activeCallsSnapshot`, as apps wired before `complete` existed do.
 */
export function testTrpcTransport(
  server: TrpcTestServer,
  tenantId = 'tenant-a',
  options: {
    lastEventId?: string;
    onError?: (error: unknown) => void;
    limit?: number;
    plainList?: boolean;
  } = {},
) {
  const trpc = createTrpcTestClient(server.url, tenantId);
  const input = options.limit === undefined ? {} : { limit: options.limit };
  return trpcTransport({
    subscribe: (subscribeInput, handlers) =>
      trpc.calltrack.onCallEvent.subscribe(
        options.lastEventId
          ? { ...subscribeInput, lastEventId: options.lastEventId }
          : subscribeInput,
        handlers,
      ),
    loadActiveCalls: options.plainList
      ? (): Promise<readonly CallSnapshot[]> => trpc.calltrack.activeCalls.query(input)
      : () => trpc.calltrack.activeCallsSnapshot.query(input),
    ...(options.onError ? { onError: options.onError } : {}),
  });
}

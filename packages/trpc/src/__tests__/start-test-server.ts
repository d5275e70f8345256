import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Principal } from '@calltrack/core';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { type AnyTRPCRouter, initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPHandler } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { withNodeSseRetry } from '../with-node-sse-retry';

/** The test app's context: who is calling, from the `Authorization` header. */
export interface TestContext {
  principal?: Principal;
}

const tokens: Record<string, Principal> = {
  'token-a': { tenantId: 'tenant-a', userId: 'user-a' },
  'token-b': { tenantId: 'tenant-b', userId: 'user-b' },
  // A super-admin of tenant-a who sees every tenant.
  'token-admin': { tenantId: 'tenant-a', userId: 'admin', allTenants: true },
};

/** The test app's tRPC instance (`isDev`: tRPC would put stack traces into error answers). */
export const t = initTRPC.context<TestContext>().create({ isDev: true });

/** Authenticates a request from its bearer token; an empty context when it has none. */
export function createContext({ req }: CreateHTTPContextOptions): TestContext {
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  // `tenant:<id>`: any tenant, for tests that need many.
  const principal = token.startsWith('tenant:') ? { tenantId: token.slice(7) } : tokens[token];
  return principal ? { principal } : {};
}

/** A running tRPC server for one test. */
export interface TestServer {
  url: string;
  server: Server;
  /** Every subscription request received, in order (to read `Last-Event-ID`). */
  subscriptionRequests: IncomingMessage[];
  close(): Promise<void>;
}

/**
 * Serves `router` with the standalone adapter on 127.0.0.1, a random port, behind
 * `withNodeSseRetry` as the README shows (unless `retry: false`).
 */
export async function startTestServer(
  router: AnyTRPCRouter,
  options: { retry?: boolean; createContext?: typeof createContext } = {},
): Promise<TestServer> {
  const subscriptionRequests: IncomingMessage[] = [];
  const makeContext = options.createContext ?? createContext;
  const handler = createHTTPHandler({
    router,
    createContext(contextOptions) {
      if (contextOptions.info.type === 'subscription')
        subscriptionRequests.push(contextOptions.req);
      return makeContext(contextOptions);
    },
  });
  const server = createServer(options.retry === false ? handler : withNodeSseRetry(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    subscriptionRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The real client: subscriptions over SSE (`httpSubscriptionLink` with the `eventsource`
 * package, sending the bearer token through its `fetch`), everything else batched. `headers`
 * go with every request (an `origin`, as a browser page would send it).
 */
export function createTestClient<TRouter extends AnyTRPCRouter>(
  url: string,
  token?: string,
  headers: Record<string, string> = {},
): TRPCClient<TRouter> {
  const requestHeaders: Record<string, string> = {
    ...headers,
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  const link = splitLink<AnyTRPCRouter>({
    condition: (op) => op.type === 'subscription',
    true: httpSubscriptionLink<AnyTRPCRouter, typeof EventSource>({
      url,
      EventSource,
      eventSourceOptions: {
        fetch: (input, init) =>
          fetch(input, { ...init, headers: { ...init?.headers, ...requestHeaders } }),
      },
    }),
    false: httpBatchLink<AnyTRPCRouter>({ url, headers: requestHeaders }),
  });
  return createTRPCClient<TRouter>({ links: [link as unknown as TRPCLink<TRouter>] });
}

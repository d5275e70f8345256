import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { type AnyTRPCRouter, initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';

/** The test app's context: who is calling, from the `Authorization` header. */
export interface TestContext {
  tenantId?: string;
  userId?: string;
}

const tokens: Record<string, TestContext> = {
  'token-a': { tenantId: 'tenant-a', userId: 'user-a' },
  'token-b': { tenantId: 'tenant-b', userId: 'user-b' },
};

/** The test app's tRPC instance. */
export const t = initTRPC.context<TestContext>().create();

/** Authenticates a request from its bearer token; an empty context when it has none. */
export function createContext({ req }: CreateHTTPContextOptions): TestContext {
  const header = req.headers.authorization ?? '';
  const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return { ...tokens[token] };
}

/** A running tRPC server for one test. */
export interface TestServer {
  url: string;
  server: Server;
  /** Every subscription request received, in order (to read `Last-Event-ID`). */
  subscriptionRequests: IncomingMessage[];
  close(): Promise<void>;
}

/** Serves `router` with the standalone adapter on 127.0.0.1, a random port. */
export async function startTestServer(router: AnyTRPCRouter): Promise<TestServer> {
  const subscriptionRequests: IncomingMessage[] = [];
  const server = createHTTPServer({
    router,
    createContext(options) {
      if (options.info.type === 'subscription') subscriptionRequests.push(options.req);
      return createContext(options);
    },
  });
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
 * package, sending the bearer token through its `fetch`), everything else batched.
 */
export function createTestClient<TRouter extends AnyTRPCRouter>(
  url: string,
  token?: string,
): TRPCClient<TRouter> {
  const authorization: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const link = splitLink<AnyTRPCRouter>({
    condition: (op) => op.type === 'subscription',
    true: httpSubscriptionLink<AnyTRPCRouter, typeof EventSource>({
      url,
      EventSource,
      eventSourceOptions: {
        fetch: (input, init) =>
          fetch(input, { ...init, headers: { ...init?.headers, ...authorization } }),
      },
    }),
    false: httpBatchLink<AnyTRPCRouter>({ url, headers: authorization }),
  });
  return createTRPCClient<TRouter>({ links: [link as unknown as TRPCLink<TRouter>] });
}

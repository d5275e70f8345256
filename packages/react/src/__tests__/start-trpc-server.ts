import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallSnapshot } from '@calltrack/core';
import { serveForTest, testEventClock } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { createCallTrackRouter, withNodeSseRetry } from '@calltrack/trpc';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPHandler } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { type TrpcTransportOptions, trpcTransport } from '../trpc-transport';
import type { StreamRefusal } from './start-sse-server';

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
      authenticate: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
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
  /** Destroys the connections of open `onCallEvent` subscriptions only (queries go on). */
  dropSubscriptions(): void;
  /**
   * Answers the next `onCallEvent` subscription requests (one each, in order) as a proxy in
   * front of the server would: with `status` and `headers` and an empty body.
   */
  refuseSubscriptions(...answers: StreamRefusal[]): void;
  /** How many `onCallEvent` subscription requests arrived, refused or not. */
  subscriptionRequests(): number;
  close(): Promise<void>;
}

/**
 * Starts the server; `history` limits the bus history (to force a `reset` on resume); with
 * `retryMs`, subscription streams tell the client to reconnect within it (`withNodeSseRetry`)
 * instead of the `EventSource` default of 3 s; `bus` replaces the memory bus (a Redis bus); the
 * server closes it.
 */
export async function startTrpcServer(
  history?: { maxEvents: number },
  options: { retryMs?: number; bus?: EventBus } = {},
): Promise<TrpcTestServer> {
  const bus = options.bus ?? createMemoryBus(history ? { history } : {});
  const tracker = createCallTracker({ bus, clock: testEventClock() });
  const trpcHandler = createHTTPHandler({ router: makeAppRouter(bus, tracker), createContext });
  const handler =
    options.retryMs === undefined
      ? trpcHandler
      : withNodeSseRetry(trpcHandler, { retryMs: options.retryMs });
  const refusals: StreamRefusal[] = [];
  let subscriptionRequests = 0;
  const subscriptionSockets = new Set<Socket>();
  const served = await serveForTest(
    createServer((request, response) => {
      if (!(request.url ?? '').includes('onCallEvent')) {
        handler(request, response);
        return;
      }
      subscriptionRequests += 1;
      const { socket } = request;
      subscriptionSockets.add(socket);
      response.once('close', () => subscriptionSockets.delete(socket));
      const refusal = refusals.shift();
      if (refusal) response.writeHead(refusal.status, refusal.headers ?? {}).end();
      else handler(request, response);
    }),
  );
  return {
    url: served.url,
    bus,
    tracker,
    dropConnections: served.dropConnections,
    dropSubscriptions() {
      for (const socket of subscriptionSockets) socket.destroy();
    },
    refuseSubscriptions: (...answers) => refusals.push(...answers),
    subscriptionRequests: () => subscriptionRequests,
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
  } & Pick<TrpcTransportOptions, 'retryDelay'> = {},
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
    ...(options.retryDelay ? { retryDelay: options.retryDelay } : {}),
  });
}

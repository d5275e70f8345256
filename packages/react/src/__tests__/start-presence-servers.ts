import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { Principal } from '@calltrack/core';
import { createPresence, type Presence } from '@calltrack/presence';
import { attachCallTrack } from '@calltrack/socket.io';
import { createSseNodeHandler } from '@calltrack/sse';
import { serveForTest, testEventClock } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { createCallTrackRouter } from '@calltrack/trpc';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { initTRPC } from '@trpc/server';
import { type CreateHTTPContextOptions, createHTTPServer } from '@trpc/server/adapters/standalone';
import { EventSource } from 'eventsource';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import type { CallTrackTransport } from '../call-track-transport';
import { socketIoTransport } from '../socket-io-transport';
import { sseTransport } from '../sse-transport';
import { trpcTransport } from '../trpc-transport';

/** The token of a super-admin console (`allTenants`, own tenant `ops`, no user). */
export const allTenantsToken = 'all-tenants';

/** `<tenant>:<user>` → that principal; {@link allTenantsToken} → the super-admin. */
function principalOf(token: string | undefined | null): Principal | null {
  if (token === allTenantsToken) return { tenantId: 'ops', allTenants: true };
  const match = /^([^:]+):(.+)$/.exec(token ?? '');
  return match ? { tenantId: match[1]!, userId: match[2]! } : null;
}

/** A bus, a tracker and presence (injected clock, no timers) for one test. */
export interface PresenceTestDeps {
  bus: EventBus;
  tracker: CallTracker;
  presence: Presence;
  /** Moves presence's clock on. */
  advance(ms: number): void;
}

export function createPresenceDeps(): PresenceTestDeps {
  let now = Date.parse('2026-11-21T10:00:00.000Z');
  const bus = createMemoryBus();
  return {
    bus,
    tracker: createCallTracker({ bus, clock: testEventClock() }),
    presence: createPresence({
      bus,
      autoHeartbeat: false,
      leaveDelayMs: 5000,
      clock: { now: () => now },
    }),
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A client transport, and how the app ends its connection (a socket is the app's to close). */
export interface PresenceTestTransport {
  transport: CallTrackTransport;
  hangUp(): void;
}

/** A server of one transport with presence, and client transports for `<tenant>:<user>`. */
export interface PresenceTransportServer {
  transportFor(token: string): PresenceTestTransport;
  close(): Promise<void>;
}

const nothing = (): void => {};

export async function startSsePresenceServer(
  deps: PresenceTestDeps,
): Promise<PresenceTransportServer> {
  const served = await serveForTest(
    createServer(
      createSseNodeHandler({
        bus: deps.bus,
        tracker: deps.tracker,
        presence: deps.presence,
        retryMs: 10,
        authenticate: (request) => principalOf(new URL(request.url).searchParams.get('token')),
      }),
    ),
  );
  return {
    transportFor: (token) => ({
      transport: sseTransport({
        url: `${served.url}/events?token=${encodeURIComponent(token)}`,
        EventSource,
      }),
      hangUp: nothing,
    }),
    close: () => served.close(),
  };
}

export async function startSocketPresenceServer(
  deps: PresenceTestDeps,
): Promise<PresenceTransportServer> {
  const http = createServer();
  const server = new Server(http, { transports: ['websocket'] });
  attachCallTrack(server, {
    bus: deps.bus,
    tracker: deps.tracker,
    presence: deps.presence,
    authenticate: (handshake) => principalOf((handshake.auth as { token?: string }).token),
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const sockets: ReturnType<typeof io>[] = [];
  return {
    transportFor(token) {
      const socket = io(url, { auth: { token }, transports: ['websocket'], forceNew: true });
      sockets.push(socket);
      return { transport: socketIoTransport({ socket }), hangUp: () => socket.close() };
    },
    async close() {
      for (const socket of sockets) socket.close();
      await server.close();
    },
  };
}

interface TrpcContext {
  principal: Principal | null;
}

export async function startTrpcPresenceServer(
  deps: PresenceTestDeps,
): Promise<PresenceTransportServer> {
  const t = initTRPC.context<TrpcContext>().create();
  const router = t.router({
    calltrack: createCallTrackRouter({
      t,
      bus: deps.bus,
      tracker: deps.tracker,
      presence: deps.presence,
      authenticate: (ctx) => ctx.principal,
    }),
  });
  const served = await serveForTest(
    createHTTPServer({
      router,
      createContext: ({ req }: CreateHTTPContextOptions): TrpcContext => ({
        principal: principalOf(req.headers.authorization?.replace(/^Bearer /, '')),
      }),
    }),
  );
  return {
    transportFor(token) {
      const headers = { authorization: `Bearer ${token}` };
      const trpc = createTRPCClient<typeof router>({
        links: [
          splitLink({
            condition: (op) => op.type === 'subscription',
            true: httpSubscriptionLink<typeof router, typeof EventSource>({
              url: served.url,
              EventSource,
              eventSourceOptions: {
                fetch: (input, init) =>
                  fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
              },
            }),
            false: httpBatchLink<typeof router>({ url: served.url, headers }),
          }),
        ],
      });
      return {
        transport: trpcTransport({
          subscribe: (input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers),
          loadActiveCalls: () => trpc.calltrack.activeCalls.query({}),
        }),
        hangUp: nothing,
      };
    },
    close: () => served.close(),
  };
}

import { createServer } from 'node:http';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent, Principal } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import { createSseNodeHandler } from '@calltrack/sse';
import { serveForTest, testEventClock } from '@calltrack/test-utils';
import {
  type CallTracker,
  type CallTrackerOptions,
  createCallTracker,
  createTrackerHandler,
} from '@calltrack/tracker';
import { EventSource } from 'eventsource';
import type { CallTrackApiOptions } from '../create-call-track-api';
import { type SseTransportOptions, sseTransport } from '../sse-transport';

/**
 * A real `@calltrack/sse` server (memory bus + tracker) on 127.0.0.1: the stream at `/events`,
 * the tracker's HTTP API at `/api` (bearer token = tenant id, or {@link allTenantsToken}).
 */
export interface SseTestServer {
  url: string;
  bus: EventBus;
  tracker: CallTracker;
  /** Destroys every open connection, as a network drop would. */
  dropConnections(): void;
  /**
   * Answers the next stream requests (one each, in order) as a proxy in front of the server
   * would: with `status` and `headers` and an empty body, before the handler sees them.
   */
  refuseStreams(...answers: StreamRefusal[]): void;
  /** How many stream requests (`/events`) arrived, refused or not. */
  streamRequests(): number;
  close(): Promise<void>;
}

/** A proxy's answer to a stream request, such as `{ status: 503 }`. */
export interface StreamRefusal {
  status: number;
  headers?: Record<string, string>;
}

/**
 * Starts the server; `history` limits the bus history (to force a `reset` on resume). With
 * `snapshots: false` the handler gets no tracker, so it never sends a `snapshot` (the tracker
 * still exists, to ingest events); `snapshotLimit` bounds the calls a snapshot lists; `tracker`
 * adds options of the tracker (a clock, a retention).
 */
export async function startSseServer(
  history?: { maxEvents: number },
  options: {
    snapshots?: boolean;
    snapshotLimit?: number;
    tracker?: Pick<CallTrackerOptions, 'clock' | 'endedCallRetentionMs'>;
  } = {},
): Promise<SseTestServer> {
  const bus = createMemoryBus(history ? { history } : {});
  const tracker = createCallTracker({ bus, clock: testEventClock(), ...options.tracker });
  const handler = createSseNodeHandler({
    bus,
    ...(options.snapshots === false ? {} : { tracker }),
    retryMs: 10,
    ...(options.snapshotLimit === undefined ? {} : { snapshotLimit: options.snapshotLimit }),
    authenticate: (request) => principalOfToken(new URL(request.url).searchParams.get('token')),
  });
  const api = toNodeHandler(
    createTrackerHandler({
      tracker,
      basePath: '/api',
      logger: {},
      authenticate: (request) =>
        principalOfToken(request.headers.get('authorization')?.replace(/^Bearer /, '')),
    }),
  );
  const refusals: StreamRefusal[] = [];
  let streamRequests = 0;
  const served = await serveForTest(
    createServer((request, response) => {
      if ((request.url ?? '/').startsWith('/api/')) {
        void api(request, response);
        return;
      }
      streamRequests += 1;
      const refusal = refusals.shift();
      if (refusal) response.writeHead(refusal.status, refusal.headers ?? {}).end();
      else void handler(request, response);
    }),
  );
  return {
    url: served.url,
    bus,
    tracker,
    dropConnections: served.dropConnections,
    refuseStreams: (...answers) => refusals.push(...answers),
    streamRequests: () => streamRequests,
    async close() {
      await served.close();
      await bus.close();
    },
  };
}

/** The token of a super-admin (`allTenants`, own tenant `ops`): it reads every tenant. */
export const allTenantsToken = 'all-tenants';

/** Who a token is: a tenant's principal (the token is its id), or the super-admin. */
function principalOfToken(token: string | null | undefined): Principal | null {
  if (!token) return null;
  return token === allTenantsToken ? { tenantId: 'ops', allTenants: true } : { tenantId: token };
}

/**
 * An SSE transport for tenant `tenantId` (or {@link allTenantsToken}) with the `eventsource`
 * package's client.
 */
export function testSseTransport(
  server: SseTestServer,
  tenantId = 'tenant-a',
  gate?: ConnectionGate,
  options: Pick<SseTransportOptions, 'retryDelay'> = {},
) {
  return sseTransport({
    url: `${server.url}/events?token=${tenantId}`,
    EventSource,
    ...(gate ? { eventSourceInit: { fetch: gate.fetch } } : {}),
    ...options,
  });
}

/** Holds a client's (re)connections: see {@link connectionGate}. */
export interface ConnectionGate {
  /** The `fetch` the client's `EventSource` uses. */
  fetch: typeof fetch;
  /** From now on, a new connection waits until `release()`. */
  hold(): void;
  release(): void;
}

/**
 * A gate for a client's stream connections: while held, a reconnection waits, so what happens on
 * the server meanwhile is missed for sure (not delivered live because the client came back fast).
 */
export function connectionGate(): ConnectionGate {
  let held: Promise<void> | undefined;
  let release = (): void => {};
  return {
    fetch: async (input, init) => {
      await held;
      return fetch(input, init);
    },
    hold() {
      held = new Promise((resolve) => {
        release = () => {
          held = undefined;
          resolve();
        };
      });
    },
    release: () => release(),
  };
}

/** The client's `api` option for tenant `tenantId` (or {@link allTenantsToken}): the tracker API. */
export function testApiOptions(server: SseTestServer, tenantId = 'tenant-a'): CallTrackApiOptions {
  return { baseUrl: `${server.url}/api`, headers: { authorization: `Bearer ${tenantId}` } };
}

let counter = 0;

/** A valid call event of `tenant-a` (unless overridden) with unique ids. */
export function callEvent(callId: string, overrides: Partial<CallEvent> = {}): CallEvent {
  counter += 1;
  return {
    id: `react-test:${process.pid}:${counter}`,
    type: 'call.ringing',
    tenantId: 'tenant-a',
    provider: 'twilio',
    callId,
    status: 'ringing',
    occurredAt: new Date(Date.UTC(2026, 10, 21, 10, 0, counter)).toISOString(),
    receivedAt: new Date(Date.UTC(2026, 10, 21, 10, 0, counter)).toISOString(),
    data: {},
    ...overrides,
  };
}

/** A `call.ended` event for `callId`. */
export function endedEvent(callId: string, tenantId = 'tenant-a'): CallEvent {
  return callEvent(callId, { type: 'call.ended', status: 'completed', tenantId });
}

/** An `alert.*` event as the tracker publishes it (`provider: 'calltrack'`). */
export function alertEvent(id: string, tenantId = 'tenant-a'): CallEvent {
  const at = new Date(Date.UTC(2026, 10, 21, 11, 0, 0)).toISOString();
  return {
    id,
    type: 'alert.long_call',
    tenantId,
    provider: 'calltrack',
    callId: `CA-${id}`,
    occurredAt: at,
    receivedAt: at,
    data: { rule: 'long_call', message: 'A call is long.', value: 50, threshold: 45 },
  };
}

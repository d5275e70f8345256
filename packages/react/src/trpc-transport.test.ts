import { afterEach, describe, expect, it } from 'vitest';
import { alertEvent, callEvent, endedEvent } from './__tests__/start-sse-server';
import {
  createTrpcTestClient,
  startTrpcServer,
  type TrpcTestServer,
  testTrpcTransport,
} from './__tests__/start-trpc-server';
import { ids, until } from './__tests__/wait-for-state';
import type { CallTrackTransport } from './call-track-transport';
import { createCallTrackClient } from './create-call-track-client';
import { type TrpcActiveCallsSnapshot, trpcTransport } from './trpc-transport';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startServer(history?: { maxEvents: number }): Promise<TrpcTestServer> {
  const server = await startTrpcServer(history);
  cleanups.push(() => server.close());
  return server;
}

/** Wraps a transport to record the resets and snapshots it reports. */
function recording(transport: CallTrackTransport) {
  const resets: string[] = [];
  const snapshots: string[][] = [];
  const wrapped: CallTrackTransport = {
    connect: (sink) =>
      transport.connect({
        ...sink,
        onReset(reason) {
          resets.push(reason);
          sink.onReset(reason);
        },
        onSnapshot(calls, complete) {
          snapshots.push(calls.map((call) => call.callId).sort());
          sink.onSnapshot(calls, complete);
        },
      }),
  };
  return { transport: wrapped, resets, snapshots };
}

function connectClient(transport: CallTrackTransport, onError?: (error: unknown) => void) {
  const client = createCallTrackClient({ transport, ...(onError ? { onError } : {}) });
  cleanups.push(client.connect());
  return client;
}

describe('createCallTrackClient with trpcTransport (real @calltrack/trpc server and client)', () => {
  it('loads the snapshot on `ready`, then applies live updates', async () => {
    const server = await startServer();
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    const { transport, snapshots } = recording(testTrpcTransport(server));
    const client = connectClient(transport);

    const loaded = await until(client, (state) => state.hasSnapshot);
    expect(ids(loaded)).toEqual(['CA-1', 'CA-2']);
    expect(snapshots).toEqual([['CA-1', 'CA-2']]);
    await until(client, (state) => state.connection.isConnected);

    await server.tracker.ingest(callEvent('CA-3'));
    await server.tracker.ingest(
      callEvent('CA-1', { type: 'call.answered', status: 'in-progress' }),
    );
    const live = await until(
      client,
      (state) => state.activeCalls.find((call) => call.callId === 'CA-1')?.status === 'in-progress',
    );
    expect(ids(live)).toEqual(['CA-1', 'CA-2', 'CA-3']);
    expect(live.lastEvent?.type).toBe('call.answered');
    // The tracked id of an event message is its bus cursor.
    expect(live.lastCursor).toEqual(expect.any(String));
    expect(live.lastCursor).not.toBe('calltrack:start');
  });

  it('removes a call from the active list when it ends', async () => {
    const server = await startServer();
    const client = connectClient(testTrpcTransport(server));
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.activeCalls.length === 2);
    await server.tracker.ingest(endedEvent('CA-1'));
    const state = await until(client, (current) => current.activeCalls.length === 1);
    expect(ids(state)).toEqual(['CA-2']);
    expect(state.lastEvent?.type).toBe('call.ended');
  });

  it('never shows another tenant’s calls or events', async () => {
    const server = await startServer();
    // Already active when the clients connect: must not be in the other tenant's snapshot.
    await server.tracker.ingest(callEvent('CB-0', { tenantId: 'tenant-b' }));
    await server.tracker.ingest(callEvent('CA-0'));
    const a = connectClient(testTrpcTransport(server, 'tenant-a'));
    const b = connectClient(testTrpcTransport(server, 'tenant-b'));
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    cleanups.push(a.onEvent((event) => seenByA.push(`${event.tenantId}:${event.callId}`)));
    cleanups.push(b.onEvent((event) => seenByB.push(`${event.tenantId}:${event.callId}`)));
    expect(ids(await until(a, (state) => state.hasSnapshot))).toEqual(['CA-0']);
    expect(ids(await until(b, (state) => state.hasSnapshot))).toEqual(['CB-0']);

    await server.tracker.ingest(callEvent('CB-1', { tenantId: 'tenant-b' }));
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(endedEvent('CB-0', 'tenant-b'));
    await server.tracker.ingest(callEvent('CA-2'));
    // B's last event and A's last event: everything before them has been delivered.
    await until(b, (state) => state.lastEvent?.callId === 'CB-0');
    const stateA = await until(a, (state) => state.lastEvent?.callId === 'CA-2');
    expect(ids(stateA)).toEqual(['CA-0', 'CA-1', 'CA-2']);
    expect(ids(b.getSnapshot())).toEqual(['CB-1']);
    expect(seenByA).toEqual(['tenant-a:CA-1', 'tenant-a:CA-2']);
    expect(seenByB).toEqual(['tenant-b:CB-1', 'tenant-b:CB-0']);
  });

  it('reloads the snapshot on `reset` (unknown lastEventId)', async () => {
    const server = await startServer();
    await server.tracker.ingest(callEvent('CA-1'));
    const { transport, resets, snapshots } = recording(
      testTrpcTransport(server, 'tenant-a', { lastEventId: 'gone-epoch:42' }),
    );
    const client = connectClient(transport);
    const state = await until(client, (current) => current.hasSnapshot);
    expect(resets).toEqual(['stream-reset']);
    expect(snapshots).toEqual([['CA-1']]);
    expect(ids(state)).toEqual(['CA-1']);

    await server.tracker.ingest(callEvent('CA-2'));
    expect(ids(await until(client, (current) => current.activeCalls.length === 2))).toEqual([
      'CA-1',
      'CA-2',
    ]);
  });

  it('reloads the snapshot after a reconnect whose cursor left history (history-gap)', async () => {
    const server = await startServer({ maxEvents: 5 });
    const { transport, resets, snapshots } = recording(testTrpcTransport(server));
    const client = connectClient(transport);
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.activeCalls.length === 2);

    server.dropConnections();
    await until(client, (state) => state.connection.reconnecting);
    // While the client is away: CA-1 ends and 10 calls start, more than the history keeps.
    const later = Array.from({ length: 10 }, (_, index) => callEvent(`CA-n${index}`));
    for (const event of [endedEvent('CA-1'), ...later]) await server.tracker.ingest(event);

    // httpSubscriptionLink reconnects by itself with the last cursor; the server answers
    // `reset` and the transport loads the active calls again.
    const state = await until(client, (current) => current.activeCalls.length === 11);
    expect(ids(state)).toEqual(['CA-2', ...later.map((event) => event.callId ?? '')].sort());
    expect(resets).toEqual(['history-gap']);
    expect(snapshots).toHaveLength(2);
    expect(state.connection.isConnected).toBe(true);
  }, 20_000); // the EventSource waits 3 s before it reconnects

  it('forgets a watched call that ended while its cursor left history (reset), instead of keeping it active', async () => {
    const server = await startServer({ maxEvents: 5 });
    const { transport, resets } = recording(testTrpcTransport(server));
    const client = connectClient(transport);
    cleanups.push(client.watchCall('CA-1'), client.watchCall('CA-2'));
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await server.tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.watchedCalls.get('CA-2') !== undefined);

    server.dropConnections();
    await until(client, (state) => state.connection.reconnecting);
    await server.tracker.ingest(endedEvent('CA-1'));
    for (let index = 0; index < 10; index += 1) {
      await server.tracker.ingest(callEvent(`CA-n${index}`));
    }

    const state = await until(client, (current) => current.activeCalls.length === 11);
    expect(resets).toEqual(['history-gap']);
    expect(state.watchedCalls.has('CA-1')).toBe(true);
    expect(state.watchedCalls.get('CA-1')).toBeUndefined();
    expect(state.watchedCalls.get('CA-2')).toMatchObject({ status: 'ringing', active: true });
  }, 20_000); // the EventSource waits 3 s before it reconnects

  it('keeps the state of a watched call that a cut activeCallsSnapshot leaves out (complete false)', async () => {
    const server = await startServer();
    const client = connectClient(testTrpcTransport(server, 'tenant-a', { limit: 2 }));
    cleanups.push(client.watchCall('CA-1'));
    await until(client, (state) => state.hasSnapshot);
    for (const callId of ['CA-1', 'CA-2', 'CA-3']) await server.tracker.ingest(callEvent(callId));
    await until(client, (state) => state.activeCalls.length === 3);
    await client.refresh({ timeoutMs: 5_000 });
    expect(ids(client.getSnapshot())).toEqual(['CA-2', 'CA-3']);
    expect(client.getSnapshot().watchedCalls.get('CA-1')).toMatchObject({
      status: 'ringing',
      active: true,
    });
  });

  it('takes a bare list (activeCalls, no complete) as cut only from 1,000 calls, as before', async () => {
    const server = await startServer();
    const client = connectClient(
      testTrpcTransport(server, 'tenant-a', { limit: 2, plainList: true }),
    );
    cleanups.push(client.watchCall('CA-1'));
    await until(client, (state) => state.hasSnapshot);
    for (const callId of ['CA-1', 'CA-2', 'CA-3']) await server.tracker.ingest(callEvent(callId));
    await until(client, (state) => state.activeCalls.length === 3);
    await client.refresh({ timeoutMs: 5_000 });
    // Two calls say nothing of a cut: CA-1 counts as gone, no longer known.
    expect(ids(client.getSnapshot())).toEqual(['CA-2', 'CA-3']);
    expect(client.getSnapshot().watchedCalls.has('CA-1')).toBe(true);
    expect(client.getSnapshot().watchedCalls.get('CA-1')).toBeUndefined();
  });

  it('refresh() loads the active calls again and resolves once they are applied', async () => {
    const server = await startServer();
    const { transport, snapshots } = recording(testTrpcTransport(server));
    const client = connectClient(transport);
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.length === 1);
    await client.refresh({ timeoutMs: 5_000 });
    expect(snapshots).toEqual([[], ['CA-1']]);
    expect(ids(client.getSnapshot())).toEqual(['CA-1']);
  });

  it('refresh() rejects at once with reason "failed" when the server cannot load the snapshot', async () => {
    const server = await startServer();
    const errors: unknown[] = [];
    const client = connectClient(
      testTrpcTransport(server, 'tenant-a', { onError: (error) => errors.push(error) }),
    );
    await until(client, (state) => state.hasSnapshot);
    // The next activeCalls query fails on the server (a real INTERNAL_SERVER_ERROR over HTTP).
    const listActiveCalls = server.tracker.listActiveCalls;
    server.tracker.listActiveCalls = async () => {
      server.tracker.listActiveCalls = listActiveCalls;
      throw new Error('store unavailable');
    };
    // A timeout far beyond the test's own: only the failure report can settle it in time.
    const failure = await client.refresh({ timeoutMs: 60_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'CallTrack_RefreshError', reason: 'failed' });
    expect(errors).toHaveLength(1);
    // The next refresh works again.
    await client.refresh({ timeoutMs: 5_000 });
  });

  it('keeps the tenant’s alert.* events in state.alerts, newest first', async () => {
    const server = await startServer();
    const client = connectClient(testTrpcTransport(server));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await server.bus.publish(alertEvent('alert-1', 'tenant-a'));
    await server.bus.publish(alertEvent('alert-2', 'tenant-b'));
    await server.bus.publish(alertEvent('alert-3', 'tenant-a'));
    const state = await until(client, (current) => current.alerts.length === 2);
    expect(state.alerts.map((alert) => alert.id)).toEqual(['alert-3', 'alert-1']);
  });
});

describe('trpcTransport when the subscription or the snapshot fails', () => {
  /** A server whose streams reconnect within 10 ms, and a client whose retries wait nothing. */
  async function setupRetrying(tenantId = 'tenant-a') {
    const server = await startTrpcServer(undefined, { retryMs: 10 });
    cleanups.push(() => server.close());
    const delays: Array<[attempt: number, retryAfterMs: number | undefined]> = [];
    const errors: unknown[] = [];
    const client = connectClient(
      testTrpcTransport(server, tenantId, {
        onError: (error) => errors.push(error),
        retryDelay: (attempt, retryAfterMs) => {
          delays.push([attempt, retryAfterMs]);
          return 0;
        },
      }),
    );
    return { server, client, delays, errors };
  }

  it('subscribes again after a 503 during a reconnect, and resumes with exactly the missed events', async () => {
    const { server, client, delays } = await setupRetrying();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await server.tracker.ingest(callEvent('CA-0'));
    await until(client, (state) => state.activeCalls.length === 1);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));

    // The link's EventSource reconnects by itself and gets a 503: it closes for good.
    server.refuseSubscriptions({ status: 503 });
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    const missed = Array.from({ length: 5 }, (_, index) => callEvent(`CA-m${index}`));
    for (const event of missed) await server.tracker.ingest(event);

    const state = await until(
      client,
      (current) => current.activeCalls.length === 6 && current.connection.isConnected,
    );
    expect(received).toEqual(missed.map((event) => event.callId));
    expect(delays).toEqual([[1, undefined]]);
    expect(state.connection).toEqual({ isConnected: true, reconnecting: false });
    await server.tracker.ingest(callEvent('CA-later'));
    await until(client, (current) => current.activeCalls.length === 7);
  });

  it('gives up with an error on UNAUTHORIZED, without retrying', async () => {
    // No tenant in the context: the router's UNAUTHORIZED, inside a 200 stream.
    const { server, client, delays } = await setupRetrying('');
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'unauthorized',
      status: 401,
    });
    expect(delays).toEqual([]);
    expect(server.subscriptionRequests()).toBe(1);
  });

  it('never says connected when the server refuses the stream it opened (a refused resume, no tenant)', async () => {
    const server = await startTrpcServer(undefined, { retryMs: 10 });
    cleanups.push(() => server.close());
    // tRPC's `connected` comes first in the 200 stream, then the procedure's error.
    for (const [tenantId, lastEventId] of [
      ['tenant-a', 'x'.repeat(600)],
      ['', undefined],
    ] as const) {
      const client = createCallTrackClient({
        transport: testTrpcTransport(server, tenantId, {
          ...(lastEventId === undefined ? {} : { lastEventId }),
          onError: () => {},
          retryDelay: () => 0,
        }),
      });
      const connected: boolean[] = [];
      cleanups.push(
        client.subscribe(() => connected.push(client.getSnapshot().connection.isConnected)),
      );
      cleanups.push(client.connect());
      const state = await until(client, (current) => current.connection.error !== undefined);
      expect(state.connection.error, tenantId).toMatchObject({ status: tenantId ? 400 : 401 });
      expect(connected, tenantId).not.toContain(true);
    }
  });

  it('says connected again after a resume that missed nothing, before any new event', async () => {
    const { server, client } = await setupRetrying();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await server.tracker.ingest(callEvent('CA-0'));
    await until(client, (state) => state.activeCalls.length === 1);
    const requests = server.subscriptionRequests();
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    const state = await until(client, (current) => current.connection.isConnected);
    expect(server.subscriptionRequests()).toBeGreaterThan(requests);
    expect(ids(state)).toEqual(['CA-0']);
  });

  it('gives up on a 401 answered to a reconnect; refresh() subscribes again and the stream lives', async () => {
    const { server, client, delays } = await setupRetrying();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    server.refuseSubscriptions({ status: 401 });
    server.dropConnections();
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(delays).toEqual([]);
    const requests = server.subscriptionRequests();

    await client.refresh({ timeoutMs: 5_000 });
    expect(server.subscriptionRequests()).toBe(requests + 1);
    await until(client, (current) => current.connection.isConnected);
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (current) => current.activeCalls.length === 1);
  });

  it('gives up on a 400 answered to a reconnect, retries 408 and 429; refresh() subscribes again', async () => {
    const { server, client, delays } = await setupRetrying();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    server.refuseSubscriptions({ status: 408 }, { status: 429 }, { status: 400 });
    server.dropConnections();
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'rejected',
      status: 400,
    });
    expect(delays).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    const requests = server.subscriptionRequests();

    await client.refresh({ timeoutMs: 5_000 });
    expect(server.subscriptionRequests()).toBe(requests + 1);
    await until(client, (current) => current.connection.isConnected);
  });

  it('gives up on the server’s BAD_REQUEST (a lastEventId it refuses), without retrying', async () => {
    const server = await startTrpcServer(undefined, { retryMs: 10 });
    cleanups.push(() => server.close());
    const delays: number[] = [];
    const client = connectClient(
      testTrpcTransport(server, 'tenant-a', {
        lastEventId: 'x'.repeat(600),
        onError: () => {},
        retryDelay: (attempt) => {
          delays.push(attempt);
          return 0;
        },
      }),
    );
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({ code: 'rejected', status: 400 });
    expect(delays).toEqual([]);
    expect(server.subscriptionRequests()).toBe(1);
  });

  it('gives up when the server refuses the snapshot query with a 400 (its input), instead of loading it again', async () => {
    const server = await startTrpcServer(undefined, { retryMs: 10 });
    cleanups.push(() => server.close());
    const delays: number[] = [];
    const errors: unknown[] = [];
    const client = connectClient(
      testTrpcTransport(server, 'tenant-a', {
        limit: 0,
        onError: (error) => errors.push(error),
        retryDelay: (attempt) => {
          delays.push(attempt);
          return 0;
        },
      }),
    );
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({ code: 'rejected', status: 400 });
    expect(state.hasSnapshot).toBe(false);
    expect(delays).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('loads the snapshot again when loading it on `ready` failed', async () => {
    const server = await startServer();
    const listActiveCalls = server.tracker.listActiveCalls;
    server.tracker.listActiveCalls = async () => {
      server.tracker.listActiveCalls = listActiveCalls;
      throw new Error('store unavailable');
    };
    await server.tracker.ingest(callEvent('CA-1'));
    const delays: number[] = [];
    const errors: unknown[] = [];
    const client = connectClient(
      testTrpcTransport(server, 'tenant-a', {
        onError: (error) => errors.push(error),
        retryDelay: (attempt) => {
          delays.push(attempt);
          return 0;
        },
      }),
    );
    const state = await until(client, (current) => current.hasSnapshot);
    expect(ids(state)).toEqual(['CA-1']);
    expect(delays).toEqual([1]);
    expect(errors).toHaveLength(1);
  });
});

describe('trpcTransport when the stream drops while the snapshot loads', () => {
  it('drops the answer read before the drop, and loads again once tRPC has resumed', async () => {
    const server = await startTrpcServer(undefined, { retryMs: 10 });
    cleanups.push(() => server.close());
    await server.tracker.ingest(callEvent('CA-0'));
    // The first read (on `ready`) is answered only when the gate opens: read now, sent later.
    let openGate = (): void => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let readDone = (): void => {};
    const read = new Promise<void>((resolve) => {
      readDone = resolve;
    });
    const listActiveCalls = server.tracker.listActiveCalls;
    server.tracker.listActiveCalls = async (...args) => {
      server.tracker.listActiveCalls = listActiveCalls;
      const calls = await listActiveCalls(...args);
      readDone();
      await gate;
      return calls;
    };
    const trpc = createTrpcTestClient(server.url, 'tenant-a');
    const loads: Array<Promise<TrpcActiveCallsSnapshot>> = [];
    const { transport, snapshots } = recording(
      trpcTransport({
        subscribe: (input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers),
        loadActiveCalls: () => {
          const load = trpc.calltrack.activeCallsSnapshot.query({});
          loads.push(load);
          return load;
        },
        retryDelay: () => 0,
      }),
    );
    const client = connectClient(transport);
    await read;
    // Started after the read: the held answer does not list it.
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.some((call) => call.callId === 'CA-1'));

    server.dropSubscriptions();
    await until(client, (state) => state.connection.reconnecting);
    // The link resumes by itself after the last id: no `ready`, nothing missed to replay.
    await until(client, (state) => state.connection.isConnected);
    openGate();
    await loads[0];

    // The held answer ([CA-0]) is not applied: it would take CA-1 away until its next event.
    expect(ids(client.getSnapshot())).toContain('CA-1');
    expect(loads).toHaveLength(2);
    await loads[1];
    expect(snapshots).toEqual([['CA-0', 'CA-1']]);
    expect(ids(client.getSnapshot())).toEqual(['CA-0', 'CA-1']);
    expect(client.getSnapshot().hasSnapshot).toBe(true);
  });
});

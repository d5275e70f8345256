import { type CallEvent, CallTrackError } from '@calltrack/core';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { serveTrackerApi } from './__tests__/serve-tracker-api';
import { startSocketIoServer } from './__tests__/start-socket-io-server';
import {
  alertEvent,
  allTenantsToken,
  callEvent,
  connectionGate,
  endedEvent,
  type SseTestServer,
  startSseServer,
  testApiOptions,
  testSseTransport,
} from './__tests__/start-sse-server';
import { startTrpcServer, testTrpcTransport } from './__tests__/start-trpc-server';
import { ids, until } from './__tests__/wait-for-state';
import { CallTrackRefreshError } from './call-track-refresh-error';
import type { CallTrackState } from './call-track-state';
import type { CallTrackTransport, CallTrackTransportSink } from './call-track-transport';
import type { CallTrackApi, CallTrackApiOptions } from './create-call-track-api';
import { type CallTrackClient, createCallTrackClient } from './create-call-track-client';
import { socketIoTransport } from './socket-io-transport';
import { sseTransport } from './sse-transport';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(history?: { maxEvents: number }) {
  const server = await startSseServer(history);
  cleanups.push(() => server.close());
  const client = createCallTrackClient({ transport: testSseTransport(server) });
  cleanups.push(client.connect());
  return { server, client };
}

async function ingestAll(server: SseTestServer, events: ReturnType<typeof callEvent>[]) {
  for (const event of events) await server.tracker.ingest(event);
}

describe('createCallTrackClient with the SSE transport (real @calltrack/sse server)', () => {
  it('loads the snapshot, then applies live updates', async () => {
    const server = await startSseServer();
    cleanups.push(() => server.close());
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2')]);
    const client = createCallTrackClient({ transport: testSseTransport(server) });
    cleanups.push(client.connect());

    const loaded = await until(client, (state) => state.hasSnapshot);
    expect(ids(loaded)).toEqual(['CA-1', 'CA-2']);
    expect(loaded.connection.isConnected).toBe(true);

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
    expect(live.lastCursor).toEqual(expect.any(String));
  });

  it('removes a call from the active list when it ends', async () => {
    const { server, client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2')]);
    await until(client, (state) => state.activeCalls.length === 2);
    await server.tracker.ingest(endedEvent('CA-1'));
    const state = await until(client, (current) => current.activeCalls.length === 1);
    expect(ids(state)).toEqual(['CA-2']);
  });

  it('never shows another tenant’s calls', async () => {
    const { server, client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CB-1', { tenantId: 'tenant-b' }));
    await server.tracker.ingest(callEvent('CA-1'));
    const state = await until(client, (current) => current.activeCalls.length > 0);
    expect(ids(state)).toEqual(['CA-1']);
    expect(state.lastEvent?.tenantId).toBe('tenant-a');
  });

  it('resumes after a dropped connection with exactly the missed events', async () => {
    const { server, client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-0'));
    await until(client, (state) => state.activeCalls.length === 1);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));

    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    const missed = Array.from({ length: 50 }, (_, index) => callEvent(`CA-m${index}`));
    await ingestAll(server, missed);
    const state = await until(client, (current) => current.activeCalls.length === 51);
    expect(received).toEqual(missed.map((event) => event.callId));
    expect(state.connection.isConnected).toBe(true);
  });

  it('reloads the snapshot after a reset (history too short to resume)', async () => {
    const server = await startSseServer({ maxEvents: 5 });
    cleanups.push(() => server.close());
    const resets: string[] = [];
    const transport = testSseTransport(server);
    const client = createCallTrackClient({
      transport: {
        connect: (sink) =>
          transport.connect({
            ...sink,
            onReset(reason) {
              resets.push(reason);
              sink.onReset(reason);
            },
          }),
      },
    });
    cleanups.push(client.connect());
    await until(client, (state) => state.hasSnapshot);
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2')]);
    await until(client, (state) => state.activeCalls.length === 2);

    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    // While the client is away: CA-1 ends and 10 calls start, more than the history keeps.
    const later = Array.from({ length: 10 }, (_, index) => callEvent(`CA-n${index}`));
    await ingestAll(server, [endedEvent('CA-1'), ...later]);

    const state = await until(client, (current) => current.activeCalls.length === 11);
    expect(ids(state)).toEqual(['CA-2', ...later.map((event) => event.callId ?? '')].sort());
    expect(resets).toEqual(['history-gap']);
  });

  it('refresh() reloads the snapshot', async () => {
    const { server, client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.length === 1);
    const before = client.getSnapshot();
    await client.refresh();
    const after = client.getSnapshot();
    expect(after).not.toBe(before);
    expect(ids(after)).toEqual(['CA-1']);
  });
});

describe('refresh() settles instead of hanging', () => {
  async function connectedWithoutSnapshots() {
    const server = await startSseServer(undefined, { snapshots: false });
    cleanups.push(() => server.close());
    const client = createCallTrackClient({ transport: testSseTransport(server) });
    const disconnect = client.connect();
    cleanups.push(disconnect);
    await until(client, (state) => state.connection.isConnected);
    return { server, client, disconnect };
  }

  it('resolves once the snapshot is applied (server with a tracker)', async () => {
    const { server, client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.length === 1);
    await expect(client.refresh({ timeoutMs: 5_000 })).resolves.toBeUndefined();
    expect(ids(client.getSnapshot())).toEqual(['CA-1']);
  });

  it('rejects with reason "timeout" when the server sends no snapshot (SSE without a tracker)', async () => {
    const { server, client } = await connectedWithoutSnapshots();
    // Live events still flow; only the snapshot never comes.
    await server.tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.length === 1);
    const error = await client.refresh({ timeoutMs: 100 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CallTrackRefreshError);
    expect(error).toMatchObject({
      name: 'CallTrack_RefreshError',
      code: 'refresh_failed',
      status: 503,
      reason: 'timeout',
    });
    expect(CallTrackRefreshError.isInstance(error)).toBe(true);
    expect(CallTrackError.isInstance(error)).toBe(true);
    expect(client.getSnapshot().hasSnapshot).toBe(false);
    // The fresh stream is live again after the refresh.
    await until(client, (state) => state.connection.isConnected);
    await server.tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.activeCalls.length === 2);
  });

  it('rejects with reason "closed" when the client disconnects before the snapshot', async () => {
    const { client, disconnect } = await connectedWithoutSnapshots();
    const refreshing = client.refresh(); // default timeout (10 s): closing settles it first
    disconnect();
    const error = await refreshing.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CallTrackRefreshError);
    expect(error).toMatchObject({ reason: 'closed' });
    expect(client.getSnapshot().connection.isConnected).toBe(false);
  });

  it('resolves at once when the client is not connected', async () => {
    const server = await startSseServer(undefined, { snapshots: false });
    cleanups.push(() => server.close());
    const client = createCallTrackClient({ transport: testSseTransport(server) });
    await expect(client.refresh()).resolves.toBeUndefined();
  });
});

describe('a closed connection', () => {
  it('reports nothing to the store once closed, even from a custom transport that goes on', async () => {
    const sinks: CallTrackTransportSink[] = [];
    const transport: CallTrackTransport = {
      connect(sink) {
        sinks.push(sink);
        return { reload: () => {}, close: () => {} };
      },
    };
    const client = createCallTrackClient({ transport });
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));
    const disconnect = client.connect();
    disconnect();
    cleanups.push(client.connect());
    const [old, current] = sinks;
    old?.onOpen();
    old?.onEvent(callEvent('CA-old'), '1-0');
    old?.onSnapshot([], true);
    current?.onEvent(callEvent('CA-new'), '2-0');
    expect(received).toEqual(['CA-new']);
    const state = client.getSnapshot();
    expect(state).toMatchObject({ hasSnapshot: false, lastCursor: '2-0' });
    expect(state.lastEvent?.callId).toBe('CA-new');
    expect(state.connection.isConnected).toBe(false);
  });
});

describe('state.alerts', () => {
  it('keeps the 50 newest by default; an alert delivered twice is shown once; a dismissed one does not come back', () => {
    const sinks: CallTrackTransportSink[] = [];
    const transport: CallTrackTransport = {
      connect(sink) {
        sinks.push(sink);
        return { reload: () => {}, close: () => {} };
      },
    };
    const client = createCallTrackClient({ transport });
    cleanups.push(client.connect());
    const sink = sinks[0]!;
    sink.onOpen();
    for (let index = 1; index <= 60; index += 1) {
      sink.onEvent(alertEvent(`alert-${index}`), `1-${index}`);
    }
    const alerts = () => client.getSnapshot().alerts.map((alert) => alert.id);
    expect(alerts()).toHaveLength(50);
    expect(alerts()[0]).toBe('alert-60');
    expect(alerts().at(-1)).toBe('alert-11');

    // A resume delivers the newest again: shown once.
    sink.onEvent(alertEvent('alert-60'), '1-60');
    expect(alerts()).toHaveLength(50);
    expect(alerts().filter((id) => id === 'alert-60')).toHaveLength(1);

    client.dismissAlert('alert-59');
    sink.onEvent(alertEvent('alert-59'), '1-59');
    expect(alerts()).not.toContain('alert-59');
    expect(alerts()[0]).toBe('alert-60');
  });
});

describe('state.presence: offline users', () => {
  it('keeps them five minutes by default, on the clock option, and at most 1,000 of them', () => {
    const sinks: CallTrackTransportSink[] = [];
    const transport: CallTrackTransport = {
      connect(sink) {
        sinks.push(sink);
        return { reload: () => {}, close: () => {} };
      },
    };
    let now = 0;
    const client = createCallTrackClient({ transport, clock: { now: () => now } });
    cleanups.push(client.connect());
    const sink = sinks[0]!;
    sink.onOpen();
    const user = (userId: string, version: number, status: 'online' | 'offline') => ({
      tenantId: 'tenant-a',
      userId,
      status,
      state: 'available',
      version,
      connections: [],
    });
    const diff = (presence: ReturnType<typeof user>): CallEvent => ({
      id: `presence:${presence.userId}:${presence.version}`,
      type: presence.status === 'offline' ? 'presence.offline' : 'presence.online',
      tenantId: 'tenant-a',
      userId: presence.userId,
      provider: 'calltrack',
      occurredAt: '2026-11-21T10:00:00.000Z',
      receivedAt: '2026-11-21T10:00:00.000Z',
      data: { presence, previousStatus: 'online' } as unknown as CallEvent['data'],
    });
    const ids = Array.from({ length: 1001 }, (_, index) => `u${String(index).padStart(4, '0')}`);
    sink.onPresenceSnapshot?.(
      [...ids, 'stays'].map((id) => user(id, 1, 'online')),
      true,
    );
    for (const id of ids) sink.onEvent(diff(user(id, 2, 'offline')));
    const users = () => client.getSnapshot().presence.users;
    // 1,001 went offline: the longest offline (the first) is dropped.
    expect(users().has('u0000')).toBe(false);
    expect(users().get('u0001')?.status).toBe('offline');
    expect(users().size).toBe(1001);

    now = 299_999;
    sink.onEvent(diff(user('stays', 2, 'online')));
    expect(users().get('u1000')?.status).toBe('offline');
    now = 300_000;
    sink.onEvent(diff(user('stays', 3, 'online')));
    expect([...users().keys()]).toEqual(['stays']);
  });
});

describe('watchCall', () => {
  it('publishes registrations made together as one state change, on the next microtask', async () => {
    const { client } = await setup();
    await until(client, (state) => state.hasSnapshot);
    let changes = 0;
    cleanups.push(
      client.subscribe(() => {
        changes += 1;
      }),
    );
    const callIds = Array.from({ length: 1_000 }, (_, index) => `CA-${index}`);
    const unwatches = callIds.map((callId) => client.watchCall(callId));
    await Promise.resolve();
    expect(changes).toBe(1);
    expect([...client.getSnapshot().watchedCalls.keys()]).toEqual(callIds);

    for (const unwatch of unwatches) unwatch();
    await Promise.resolve();
    expect(changes).toBe(2);
    expect(client.getSnapshot().watchedCalls.size).toBe(0);

    // Watched and unwatched again before it was published (React's strict mode): no change.
    client.watchCall('CA-1')();
    await Promise.resolve();
    expect(changes).toBe(2);
  });
});

describe('an all-tenants client (a super-admin console) with two tenants’ calls of one id', () => {
  async function twoTenantsConsole() {
    const server = await startSseServer();
    cleanups.push(() => server.close());
    const client = createCallTrackClient({
      transport: testSseTransport(server, allTenantsToken),
    });
    cleanups.push(client.connect());
    return { server, client };
  }
  const tenantsOf = (calls: readonly { tenantId: string; callId: string }[]) =>
    calls.map((call) => `${call.tenantId}/${call.callId}`).sort();

  it('lists both, and one tenant’s end removes only that tenant’s call', async () => {
    const { server, client } = await twoTenantsConsole();
    await ingestAll(server, [
      callEvent('CA-1', { tenantId: 'tenant-a' }),
      callEvent('CA-1', { tenantId: 'tenant-a', type: 'call.answered', status: 'in-progress' }),
      callEvent('CA-1', { tenantId: 'tenant-b' }),
    ]);
    const loaded = await until(client, (state) => state.hasSnapshot);
    expect(tenantsOf(loaded.activeCalls)).toEqual(['tenant-a/CA-1', 'tenant-b/CA-1']);

    // Tenant A's call ends at version 3; tenant B's is at version 1.
    await server.tracker.ingest(endedEvent('CA-1', 'tenant-a'));
    const afterEnd = await until(client, (state) => state.activeCalls.length === 1);
    expect(tenantsOf(afterEnd.activeCalls)).toEqual(['tenant-b/CA-1']);
    // A new snapshot lists tenant B's call at a lower version than tenant A's end: it stays.
    await client.refresh();
    expect(tenantsOf(client.getSnapshot().activeCalls)).toEqual(['tenant-b/CA-1']);
  });

  it('watchCall with a tenant follows that tenant’s call only', async () => {
    const { server, client } = await twoTenantsConsole();
    await until(client, (state) => state.hasSnapshot);
    cleanups.push(
      client.watchCall('CA-1', { tenantId: 'tenant-a' }),
      client.watchCall('CA-1', { tenantId: 'tenant-b' }),
    );
    await ingestAll(server, [
      callEvent('CA-1', { tenantId: 'tenant-a' }),
      callEvent('CA-1', { tenantId: 'tenant-b' }),
      callEvent('CA-1', { tenantId: 'tenant-b', type: 'call.answered', status: 'in-progress' }),
      endedEvent('CA-1', 'tenant-a'),
    ]);
    const watchedOf = (state: CallTrackState, tenantId: string) =>
      state.watchedCallsByTenant.get(tenantId)?.get('CA-1');
    const state = await until(
      client,
      (current) =>
        watchedOf(current, 'tenant-a')?.active === false &&
        watchedOf(current, 'tenant-b')?.status === 'in-progress',
    );
    expect(watchedOf(state, 'tenant-a')).toMatchObject({
      tenantId: 'tenant-a',
      status: 'completed',
    });
    expect(watchedOf(state, 'tenant-b')).toMatchObject({ tenantId: 'tenant-b', active: true });
    // Watches without a tenant are kept apart from these (none here).
    expect(state.watchedCalls.size).toBe(0);
  });

  it('watchCall without a tenant keeps to the tenant of the call it first holds', async () => {
    const { server, client } = await twoTenantsConsole();
    await until(client, (state) => state.hasSnapshot);
    cleanups.push(client.watchCall('CA-1'));
    await server.tracker.ingest(callEvent('CA-1', { tenantId: 'tenant-a' }));
    await until(client, (state) => state.watchedCalls.get('CA-1') !== undefined);
    // Tenant B's call of the same id gets a higher version than tenant A's: it is another call.
    await ingestAll(server, [
      callEvent('CA-1', { tenantId: 'tenant-b' }),
      callEvent('CA-1', { tenantId: 'tenant-b', type: 'call.answered', status: 'in-progress' }),
    ]);
    const state = await until(client, (current) =>
      current.activeCalls.some((call) => call.tenantId === 'tenant-b' && call.version === 2),
    );
    expect(state.watchedCalls.get('CA-1')).toMatchObject({
      tenantId: 'tenant-a',
      status: 'ringing',
    });
  });
});

describe('a watched call whose call.ended fell in a reset gap (SSE)', () => {
  /**
   * A client (with the tracker's API when `api`) watching CA-1 and CA-2 while they ring; then,
   * while it is away, CA-1 ends and more events follow than the bus history keeps, so its resume
   * gets `reset` and a new snapshot that no longer lists CA-1. With `forgetEnded`, the tracker's
   * clock passes its ended-call retention before those events, so it forgets CA-1 meanwhile.
   */
  async function endedInTheGap(options: { api?: boolean; forgetEnded?: boolean } = {}) {
    let now = Date.UTC(2026, 10, 21, 12, 0, 0);
    const server = await startSseServer(
      { maxEvents: 5 },
      { tracker: { clock: { now: () => now }, endedCallRetentionMs: 60_000 } },
    );
    // Events as they happen on the tracker's clock: one older than the retention, of a call the
    // tracker does not know, would be taken for a replay and dropped.
    const happening = (callId: string, overrides: Partial<CallEvent> = {}): CallEvent => {
      const at = new Date(now).toISOString();
      return callEvent(callId, { occurredAt: at, receivedAt: at, ...overrides });
    };
    cleanups.push(() => server.close());
    const errors: unknown[] = [];
    const client = createCallTrackClient({
      transport: testSseTransport(server),
      ...(options.api ? { api: testApiOptions(server) } : {}),
      onError: (error) => errors.push(error),
    });
    cleanups.push(client.connect());
    cleanups.push(client.watchCall('CA-1'), client.watchCall('CA-2'));
    await until(client, (state) => state.hasSnapshot);
    await ingestAll(server, [happening('CA-1'), happening('CA-2')]);
    await until(client, (state) => state.watchedCalls.get('CA-2') !== undefined);

    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    await server.tracker.ingest(happening('CA-1', { type: 'call.ended', status: 'completed' }));
    if (options.forgetEnded) now += 120_000;
    await ingestAll(
      server,
      Array.from({ length: 10 }, (_, index) => happening(`CA-n${index}`)),
    );
    await until(client, (state) => state.activeCalls.length === 11);
    return { server, client, errors, happening };
  }

  const watchedStatus = (client: CallTrackClient, callId: string) =>
    client.getSnapshot().watchedCalls.get(callId)?.status;

  it('is read again through the API and shows how it ended', async () => {
    const { client } = await endedInTheGap({ api: true });
    const state = await until(
      client,
      (current) => current.watchedCalls.get('CA-1')?.active === false,
    );
    expect(state.watchedCalls.get('CA-1')).toMatchObject({ status: 'completed', active: false });
    // The call the snapshot still lists is not read again and stays as it was.
    expect(watchedStatus(client, 'CA-2')).toBe('ringing');
  });

  it('without an API, is no longer known (undefined) instead of staying active', async () => {
    const { client } = await endedInTheGap();
    const state = client.getSnapshot();
    expect(state.watchedCalls.has('CA-1')).toBe(true);
    expect(state.watchedCalls.get('CA-1')).toBeUndefined();
    expect(watchedStatus(client, 'CA-2')).toBe('ringing');
  });

  it('is read again with its own tenant by an all-tenants client (a super-admin console)', async () => {
    const server = await startSseServer();
    cleanups.push(() => server.close());
    const gate = connectionGate();
    const errors: unknown[] = [];
    const client = createCallTrackClient({
      transport: testSseTransport(server, allTenantsToken, gate),
      api: testApiOptions(server, allTenantsToken),
      onError: (error) => errors.push(error),
    });
    cleanups.push(client.connect());
    cleanups.push(client.watchCall('CB-1'), client.watchCall('CO-1'));
    await until(client, (state) => state.hasSnapshot);
    // Another tenant's call, and one of the super-admin's own tenant.
    await ingestAll(server, [
      callEvent('CB-1', { tenantId: 'tenant-b' }),
      callEvent('CO-1', { tenantId: 'ops' }),
    ]);
    await until(client, (state) => state.watchedCalls.get('CO-1') !== undefined);

    // Away while both end; an all-tenants stream comes back with a reset and a new snapshot.
    gate.hold();
    server.dropConnections();
    await until(client, (state) => !state.connection.isConnected);
    await ingestAll(server, [endedEvent('CB-1', 'tenant-b'), endedEvent('CO-1', 'ops')]);
    gate.release();

    const state = await until(
      client,
      (current) =>
        current.watchedCalls.get('CB-1')?.active !== true &&
        current.watchedCalls.get('CO-1')?.active !== true,
    );
    expect(state.watchedCalls.get('CB-1')).toMatchObject({
      tenantId: 'tenant-b',
      status: 'completed',
      active: false,
    });
    expect(state.watchedCalls.get('CO-1')).toMatchObject({ tenantId: 'ops', status: 'completed' });
    expect(errors).toEqual([]);
    expect(await client.api?.getCall('CB-1', { tenantId: 'tenant-b' })).toMatchObject({
      tenantId: 'tenant-b',
    });
  });

  it('is no longer known when the tracker forgot it too; its next event brings it back', async () => {
    const { server, client, errors, happening } = await endedInTheGap({
      api: true,
      forgetEnded: true,
    });
    await until(client, (state) => state.watchedCalls.get('CA-1') === undefined);
    // Not in its own tenant, and it may name no other (400): no longer known, and no error.
    expect(errors).toEqual([]);
    expect(await client.api?.getCall('CA-1')).toBeUndefined();
    await server.tracker.ingest(happening('CA-1'));
    const back = await until(client, (state) => state.watchedCalls.get('CA-1') !== undefined);
    expect(back.watchedCalls.get('CA-1')).toMatchObject({ callId: 'CA-1', status: 'ringing' });
  });

  it('a watched call a truncated snapshot leaves out is read again and stays active', async () => {
    const server = await startSseServer(undefined, { snapshotLimit: 1 });
    cleanups.push(() => server.close());
    const client = createCallTrackClient({
      transport: testSseTransport(server),
      api: testApiOptions(server),
    });
    const api = client.api as CallTrackApi;
    const answers: Promise<unknown>[] = [];
    const getCall = api.getCall;
    api.getCall = (callId, options) => {
      const answer = getCall(callId, options);
      answers.push(answer);
      return answer;
    };
    cleanups.push(client.connect());
    await until(client, (state) => state.hasSnapshot);
    cleanups.push(client.watchCall('CA-1'));
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2')]);
    await until(client, (state) => state.activeCalls.length === 2);
    await client.refresh(); // the new snapshot lists only the newest call, CA-2
    expect(ids(client.getSnapshot())).toEqual(['CA-2']);
    expect(answers).toHaveLength(1);
    expect(await answers[0]).toMatchObject({ callId: 'CA-1', active: true });
    // The client applies the answer on the same turn (no I/O between): let it run, then look.
    await new Promise((resolve) => setImmediate(resolve));
    expect(watchedStatus(client, 'CA-1')).toBe('ringing');
  });

  it('without an API, a watched call a truncated snapshot leaves out keeps its state', async () => {
    // The server's limit is not the client's business: the snapshot says it was cut.
    const server = await startSseServer(undefined, { snapshotLimit: 2 });
    cleanups.push(() => server.close());
    const client = createCallTrackClient({ transport: testSseTransport(server) });
    cleanups.push(client.connect());
    await until(client, (state) => state.hasSnapshot);
    cleanups.push(client.watchCall('CA-1'), client.watchCall('CA-2'));
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2'), callEvent('CA-3')]);
    await until(client, (state) => state.activeCalls.length === 3);
    // The new snapshot holds the limit's 2 newest calls: CA-1 may be active still.
    await client.refresh();
    expect(ids(client.getSnapshot())).toEqual(['CA-2', 'CA-3']);
    expect(client.getSnapshot().watchedCalls.get('CA-1')).toMatchObject({
      callId: 'CA-1',
      status: 'ringing',
      active: true,
    });
    // Its next event updates it as usual. (A complete snapshot proves it gone: a watched call it
    // leaves out is no longer known, as the tests above show.)
    await server.tracker.ingest(endedEvent('CA-1'));
    const ended = await until(
      client,
      (state) => state.watchedCalls.get('CA-1')?.status === 'completed',
    );
    expect(ended.watchedCalls.get('CA-2')).toMatchObject({ status: 'ringing' });
  });

  it('a stream that follows a call gets it in its snapshot however many calls the tenant has', async () => {
    // The server reads the followed calls themselves (not the newest `snapshotLimit` filtered),
    // so the snapshot is complete and holds CA-1 although two newer calls fill the limit.
    const server = await startSseServer(undefined, { snapshotLimit: 2 });
    cleanups.push(() => server.close());
    const client = createCallTrackClient({
      transport: sseTransport({
        url: `${server.url}/events?token=tenant-a&callId=CA-1`,
        EventSource,
      }),
    });
    cleanups.push(client.connect());
    await until(client, (state) => state.hasSnapshot);
    cleanups.push(client.watchCall('CA-1'));
    await ingestAll(server, [callEvent('CA-1'), callEvent('CA-2'), callEvent('CA-3')]);
    await until(client, (state) => state.watchedCalls.get('CA-1') !== undefined);
    await client.refresh();
    expect(ids(client.getSnapshot())).toEqual(['CA-1']);
    expect(client.getSnapshot().watchedCalls.get('CA-1')).toMatchObject({
      callId: 'CA-1',
      status: 'ringing',
      active: true,
    });
  });

  it('getCall reads one call through the API: ended ones too, undefined for an unknown one', async () => {
    const server = await startSseServer();
    cleanups.push(() => server.close());
    const client = createCallTrackClient({
      transport: testSseTransport(server),
      api: testApiOptions(server),
    });
    await ingestAll(server, [callEvent('CA 1/x'), endedEvent('CA 1/x')]);
    expect(await client.api?.getCall('CA 1/x')).toMatchObject({
      callId: 'CA 1/x',
      status: 'completed',
      active: false,
    });
    expect(await client.api?.getCall('CA-nope')).toBeUndefined();
    const otherTenant = createCallTrackClient({
      transport: testSseTransport(server, 'tenant-b'),
      api: testApiOptions(server, 'tenant-b'),
    });
    expect(await otherTenant.api?.getCall('CA 1/x')).toBeUndefined();
    const unauthenticated = createCallTrackClient({
      transport: testSseTransport(server),
      api: { baseUrl: `${server.url}/api` },
    });
    await expect(unauthenticated.api?.getCall('CA 1/x')).rejects.toMatchObject({
      name: 'CallTrack_ApiError',
      status: 401,
    });
  });
});

/** A real server of one transport, its tracker, and the tracker's HTTP API for `tenant-a`. */
interface TransportUnderTest {
  tracker: { ingest: SseTestServer['tracker']['ingest'] };
  transport: CallTrackTransport;
  api: CallTrackApiOptions;
  /** Resolves once the server stopped sending to the client's closed connection. */
  closed(): Promise<void>;
}

const transportsUnderTest: Array<[string, () => Promise<TransportUnderTest>]> = [
  [
    'SSE',
    async () => {
      const server = await startSseServer();
      cleanups.push(() => server.close());
      return {
        tracker: server.tracker,
        transport: testSseTransport(server),
        api: testApiOptions(server),
        closed: async () => {},
      };
    },
  ],
  [
    'Socket.IO',
    async () => {
      const server = await startSocketIoServer();
      cleanups.push(() => server.close());
      const api = await serveTrackerApi(server.tracker);
      cleanups.push(() => api.close());
      return {
        tracker: server.tracker,
        transport: socketIoTransport({ socket: server.socket }),
        api: api.apiOptions(),
        // The socket stays open: once a later request is answered, the transport's
        // `unsubscribe_from_calls` (sent first) has been handled.
        closed: async () => {
          await server.socket.emitWithAck('unsubscribe_from_calls');
        },
      };
    },
  ],
  [
    'tRPC',
    async () => {
      const server = await startTrpcServer();
      cleanups.push(() => server.close());
      const api = await serveTrackerApi(server.tracker);
      cleanups.push(() => api.close());
      return {
        tracker: server.tracker,
        transport: testTrpcTransport(server),
        api: api.apiOptions(),
        closed: async () => {},
      };
    },
  ],
];

/**
 * Counts the snapshots a transport reports, so a test can wait for the next one; `holdNext()`
 * keeps the next one from the client until the test releases it (it resolves with `release`
 * once the snapshot arrived, so it was read on the server before what the test does next).
 */
function gatedSnapshots(transport: CallTrackTransport) {
  let count = 0;
  let onNext: ((release: () => void) => void) | undefined;
  const wrapped: CallTrackTransport = {
    connect: (sink) =>
      transport.connect({
        ...sink,
        onSnapshot(calls, complete) {
          count += 1;
          const apply = () => sink.onSnapshot(calls, complete);
          const hold = onNext;
          onNext = undefined;
          if (hold) hold(apply);
          else apply();
        },
      }),
  };
  return {
    transport: wrapped,
    snapshots: () => count,
    holdNext: () =>
      new Promise<() => void>((resolve) => {
        onNext = resolve;
      }),
  };
}

describe.each(transportsUnderTest)(
  'a call that ended while the client was disconnected (connect() again, %s)',
  (_name, start) => {
    /**
     * The provider unmounted and mounted again with a module-scope client: connect, see CA-1
     * ring, disconnect; CA-1 ends meanwhile; connect again and wait for the new snapshot.
     */
    async function ringThenAway(options: { api: boolean }) {
      const under = await start();
      const gate = gatedSnapshots(under.transport);
      const client = createCallTrackClient({
        transport: gate.transport,
        ...(options.api ? { api: under.api } : {}),
      });
      cleanups.push(client.watchCall('CA-1'));
      const disconnect = client.connect();
      await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
      await under.tracker.ingest(callEvent('CA-1'));
      await until(client, (state) => ids(state).includes('CA-1'));

      disconnect();
      await under.closed();
      await under.tracker.ingest(endedEvent('CA-1'));
      return { client, under, gate };
    }

    async function endedWhileAway(options: { api: boolean }) {
      const { client, under, gate } = await ringThenAway(options);
      await under.tracker.ingest(callEvent('CA-2'));
      cleanups.push(client.connect());
      await until(client, () => gate.snapshots() === 2);
      return { client, under };
    }

    it('is no longer active, and a watched one is no longer known (no api)', async () => {
      const { client } = await endedWhileAway({ api: false });
      const state = client.getSnapshot();
      expect(ids(state)).toEqual(['CA-2']);
      expect(state.watchedCalls.has('CA-1')).toBe(true);
      expect(state.watchedCalls.get('CA-1')).toBeUndefined();
    });

    it('is no longer active, and a watched one is read again and shows how it ended (api)', async () => {
      const { client } = await endedWhileAway({ api: true });
      expect(ids(client.getSnapshot())).toEqual(['CA-2']);
      const state = await until(
        client,
        (current) => current.watchedCalls.get('CA-1')?.active === false,
      );
      expect(state.watchedCalls.get('CA-1')).toMatchObject({ status: 'completed' });
    });

    it('keeps a call that a live event brought in after the reconnect, before its snapshot', async () => {
      const { client, under, gate } = await ringThenAway({ api: false });
      const snapshotRead = gate.holdNext();
      cleanups.push(client.connect());
      const releaseSnapshot = await snapshotRead;
      // CA-3 starts after the new connection's snapshot was read (it does not list it).
      await under.tracker.ingest(callEvent('CA-3'));
      await until(client, (state) => state.lastEvent?.callId === 'CA-3');
      releaseSnapshot();
      expect(ids(client.getSnapshot())).toEqual(['CA-3']);
    });
  },
);

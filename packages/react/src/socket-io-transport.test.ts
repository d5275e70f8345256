import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import { attachCallTrack } from '@calltrack/socket.io';
import { testEventClock } from '@calltrack/test-utils';
import { type CallTracker, createCallTracker } from '@calltrack/tracker';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { serveTrackerApi } from './__tests__/serve-tracker-api';
import { alertEvent, callEvent, endedEvent } from './__tests__/start-sse-server';
import { ids, until } from './__tests__/wait-for-state';
import type { CallTrackState } from './call-track-state';
import type { CallTrackApiOptions } from './create-call-track-api';
import { createCallTrackClient } from './create-call-track-client';
import { socketIoTransport } from './socket-io-transport';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A real `attachCallTrack` server (the token is the tenant id; a token in `revoked` is refused)
 * and a client of tenant A on it. `beforeConnect` runs before the client connects; the
 * transport's retries wait nothing and are recorded in `delays`.
 */
async function setup(
  history?: { maxEvents: number },
  options: { beforeConnect?: (tracker: CallTracker) => void; withApi?: boolean } = {},
) {
  const bus = createMemoryBus(history ? { history } : {});
  const tracker = createCallTracker({ bus, clock: testEventClock() });
  const httpServer = createServer();
  const server = new Server(httpServer);
  const revoked = new Set<string>();
  attachCallTrack(server, {
    bus,
    tracker,
    authenticate: (handshake) => {
      const token = (handshake.auth as { token?: string }).token;
      // `tenant-a~2`: a rotated token of tenant-a.
      return token && !revoked.has(token) ? { tenantId: token.replace(/~.*$/, '') } : null;
    },
    onError: () => {},
  });
  options.beforeConnect?.(tracker);
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await server.close();
    await bus.close();
  });
  const socket = io(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, {
    auth: { token: 'tenant-a', tenantId: 'tenant-b' },
    transports: ['websocket'],
    reconnectionDelay: 10,
    reconnectionDelayMax: 10,
  });
  cleanups.push(() => socket.close());
  const delays: number[] = [];
  const transport = socketIoTransport({
    socket,
    retryDelay: (attempt) => {
      delays.push(attempt);
      return 0;
    },
  });
  let api: CallTrackApiOptions | undefined;
  if (options.withApi) {
    const apiServer = await serveTrackerApi(tracker);
    cleanups.push(() => apiServer.close());
    api = apiServer.apiOptions();
  }
  const client = createCallTrackClient({ transport, ...(api ? { api } : {}) });
  const disconnect = client.connect();
  cleanups.push(disconnect);
  return { server, bus, tracker, client, socket, revoked, delays, disconnect };
}

/** Closes every connection's transport (not a server-side disconnect), so the client reconnects. */
async function dropConnections(server: Server): Promise<void> {
  for (const socket of await server.fetchSockets()) {
    (server.sockets.sockets.get(socket.id)?.conn as { close(): void } | undefined)?.close();
  }
}

describe('socketIoTransport against a real attachCallTrack server', () => {
  it('loads the snapshot, applies live updates, drops ended calls, ignores other tenants', async () => {
    const { tracker, client } = await setup();
    await tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CB-1', { tenantId: 'tenant-b' }));
    await tracker.ingest(callEvent('CA-2'));
    await tracker.ingest(endedEvent('CA-1'));
    const state = await until(client, (current) => current.lastEvent?.type === 'call.ended');
    expect(ids(state)).toEqual(['CA-2']);
  });

  it('resumes after the last cursor (subscribe_to_calls after) when the connection drops: exactly the missed events', async () => {
    const { server, tracker, client } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-0'));
    await until(client, (state) => state.activeCalls.length === 1);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));

    await dropConnections(server);
    await until(client, (state) => !state.connection.isConnected);
    const missed = Array.from({ length: 50 }, (_, index) => callEvent(`CA-m${index}`));
    for (const event of missed) await tracker.ingest(event);
    await until(client, (state) => state.activeCalls.length === 51);
    expect(received).toEqual(missed.map((event) => event.callId));
  });

  it('forgets a watched call that ended while a reconnect’s cursor left history (reset), instead of keeping it active', async () => {
    const { server, tracker, client, socket } = await setup({ maxEvents: 5 });
    const resets: string[] = [];
    socket.on('reset', ({ reason }: { reason: string }) => resets.push(reason));
    cleanups.push(client.watchCall('CA-1'), client.watchCall('CA-2'));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-1'));
    await tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.watchedCalls.get('CA-2') !== undefined);

    await dropConnections(server);
    await until(client, (state) => !state.connection.isConnected);
    // While the client is away: CA-1 ends and 10 calls start, more than the history keeps.
    await tracker.ingest(endedEvent('CA-1'));
    for (let index = 0; index < 10; index += 1) await tracker.ingest(callEvent(`CA-n${index}`));

    // It resumes after its last cursor, gets `reset` and subscribes again for a new snapshot.
    const state = await until(client, (current) => current.activeCalls.length === 11);
    expect(state.watchedCalls.has('CA-1')).toBe(true);
    expect(state.watchedCalls.get('CA-1')).toBeUndefined();
    expect(state.watchedCalls.get('CA-2')).toMatchObject({ status: 'ringing', active: true });
    expect(resets).toEqual(['history-gap']);
  });

  it('forgets a watched call a complete snapshot of 1,000 calls leaves out: the server says it is complete', async () => {
    const { server, tracker, client } = await setup({ maxEvents: 5 });
    cleanups.push(client.watchCall('CA-1'));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-1'));
    for (let index = 0; index < 999; index += 1) await tracker.ingest(callEvent(`CA-x${index}`));
    await until(client, (state) => state.activeCalls.length === 1000);

    await dropConnections(server);
    await until(client, (state) => !state.connection.isConnected);
    // While the client is away: CA-1 ends and CA-2 starts, so 1,000 calls are active again, as
    // many as a snapshot holds; more events follow than the history keeps.
    await tracker.ingest(endedEvent('CA-1'));
    await tracker.ingest(callEvent('CA-2'));
    for (let index = 0; index < 5; index += 1) {
      await tracker.ingest(
        callEvent(`CA-x${index}`, { type: 'call.answered', status: 'in-progress' }),
      );
    }

    const state = await until(client, (current) =>
      current.activeCalls.some((call) => call.callId === 'CA-2'),
    );
    expect(state.activeCalls).toHaveLength(1000);
    expect(state.watchedCalls.has('CA-1')).toBe(true);
    expect(state.watchedCalls.get('CA-1')).toBeUndefined();
  });

  it('keeps the state of a watched call that a snapshot cut at 1,000 calls leaves out', async () => {
    const { tracker, client } = await setup();
    cleanups.push(client.watchCall('CA-0'));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    // CA-0 is the oldest of 1,001 active calls: the one a snapshot leaves out.
    for (let index = 0; index <= 1000; index += 1) await tracker.ingest(callEvent(`CA-${index}`));
    await until(client, (state) => state.activeCalls.length === 1001);
    await client.refresh();
    const state = client.getSnapshot();
    expect(state.activeCalls).toHaveLength(1000);
    expect(state.activeCalls.some((call) => call.callId === 'CA-0')).toBe(false);
    expect(state.watchedCalls.get('CA-0')).toMatchObject({ status: 'ringing', active: true });
  });

  it('keeps the tenant’s alert.* events in state.alerts, newest first', async () => {
    const { bus, client } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await bus.publish(alertEvent('alert-1', 'tenant-a'));
    await bus.publish(alertEvent('alert-2', 'tenant-b'));
    await bus.publish(alertEvent('alert-3', 'tenant-a'));
    const state = await until(client, (current) => current.alerts.length === 2);
    expect(state.alerts.map((alert) => alert.id)).toEqual(['alert-3', 'alert-1']);
  });

  it('shows the new tenant’s calls and events after the app replaces socket.auth and reconnects', async () => {
    const { tracker, client, socket } = await setup();
    await tracker.ingest(callEvent('CA-1'));
    await tracker.ingest(callEvent('CB-1', { tenantId: 'tenant-b' }));
    await until(client, (state) => state.hasSnapshot && ids(state).join() === 'CA-1');
    await tracker.ingest(callEvent('CA-2'));
    await until(client, (state) => state.activeCalls.length === 2);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(`${event.tenantId}:${event.callId}`)));

    // The user switches workspace: new credentials, a new handshake.
    socket.auth = { token: 'tenant-b' };
    socket.disconnect().connect();
    const switched = await until(
      client,
      (state) => state.connection.isConnected && ids(state).join() === 'CB-1',
    );
    expect(switched.activeCalls.map((call) => call.tenantId)).toEqual(['tenant-b']);

    await tracker.ingest(callEvent('CA-3'));
    await tracker.ingest(callEvent('CB-2', { tenantId: 'tenant-b' }));
    const state = await until(client, (current) => current.activeCalls.length === 2);
    expect(ids(state)).toEqual(['CB-1', 'CB-2']);
    expect(received).toEqual(['tenant-b:CB-2']);
  });

  it('forgets the old tenant’s calls and alerts as soon as new credentials connect, before their snapshot', async () => {
    const { bus, tracker, client, socket } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-1'));
    await bus.publish(alertEvent('alert-1'));
    await until(client, (state) => ids(state).join() === 'CA-1' && state.alerts.length === 1);
    // What the app shows once the new credentials' connection is up (the transport's own
    // `connect` listener has run).
    const shown: CallTrackState[] = [];
    socket.on('connect', () => shown.push(client.getSnapshot()));
    cleanups.push(
      client.subscribe(() => {
        if (shown.length > 0) shown.push(client.getSnapshot());
      }),
    );

    socket.auth = { token: 'tenant-b' };
    socket.disconnect().connect();
    const switched = await until(
      client,
      (state) => state.hasSnapshot && state.connection.isConnected && ids(state).length === 0,
    );
    // Nothing of tenant-a shows once tenant-b's connection is up, before its snapshot arrives.
    expect(shown[0]).toMatchObject({ activeCalls: [], alerts: [], hasSnapshot: false });
    expect(shown.flatMap((state) => state.activeCalls)).toEqual([]);
    expect(shown.flatMap((state) => state.alerts)).toEqual([]);
    expect(switched.alerts).toEqual([]);
    expect(switched.lastEvent).toBeUndefined();
  });

  it('ignores what the previous subscription sent after the client disconnects and connects again', async () => {
    const { server, tracker, client, disconnect } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    const [serverSocket] = await server.fetchSockets();
    const emitted = new Promise<void>((resolve) => {
      server.sockets.sockets.get(serverSocket!.id)?.onAnyOutgoing((event) => {
        if (event === 'call_update') resolve();
      });
    });
    await tracker.ingest(callEvent('CA-old'));
    // Sent by the server, not yet read by the client: it arrives after the new connect().
    await emitted;
    disconnect();
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(event.callId ?? '')));
    cleanups.push(client.connect());
    await until(client, (state) => state.connection.isConnected && ids(state).join() === 'CA-old');
    await tracker.ingest(callEvent('CA-new'));
    await until(client, (state) => state.activeCalls.length === 2);
    // CA-old came with the new snapshot; its event belonged to the subscription that was closed.
    expect(received).toEqual(['CA-new']);
  });

  it('shows the new tenant’s calls and events after the app changes socket.auth.token and the connection drops', async () => {
    const { server, tracker, client, socket } = await setup();
    await tracker.ingest(callEvent('CB-1', { tenantId: 'tenant-b' }));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-1'));
    await until(client, (state) => state.activeCalls.length === 1);
    const received: string[] = [];
    cleanups.push(client.onEvent((event) => received.push(`${event.tenantId}:${event.callId}`)));

    // Socket.IO's documented way to change credentials: the next handshake sends them.
    (socket.auth as { token: string }).token = 'tenant-b';
    await dropConnections(server);
    await until(client, (state) => ids(state).join() === 'CB-1' && state.connection.isConnected);

    await tracker.ingest(callEvent('CA-2'));
    await tracker.ingest(callEvent('CB-2', { tenantId: 'tenant-b' }));
    const state = await until(client, (current) => current.activeCalls.length === 2);
    expect(ids(state)).toEqual(['CB-1', 'CB-2']);
    expect(received).toEqual(['tenant-b:CB-2']);
  });

  it('reads every watched call again after the app rotates its token (socket.auth.token): an ended one does not turn unknown', async () => {
    const { server, tracker, client, socket } = await setup(undefined, { withApi: true });
    cleanups.push(client.watchCall('CA-1'), client.watchCall('CA-2'));
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    await tracker.ingest(callEvent('CA-1'));
    await tracker.ingest(endedEvent('CA-1'));
    await tracker.ingest(callEvent('CA-2'));
    await until(
      client,
      (state) =>
        state.watchedCalls.get('CA-1')?.active === false &&
        state.watchedCalls.get('CA-2')?.active === true,
    );

    // The README's token rotation: new credentials, same principal. The state starts afresh.
    (socket.auth as { token: string }).token = 'tenant-a~2';
    await dropConnections(server);
    await until(client, (current) => !current.connection.isConnected);
    const state = await until(
      client,
      (current) =>
        current.hasSnapshot &&
        current.connection.isConnected &&
        current.watchedCalls.get('CA-1') !== undefined,
    );
    expect(state.watchedCalls.get('CA-1')).toMatchObject({ active: false, status: 'completed' });
    expect(state.watchedCalls.get('CA-2')).toMatchObject({ active: true });
    expect(ids(state)).toEqual(['CA-2']);
  });

  it('subscribes again when the server could not load the snapshot (a failed ack)', async () => {
    const { client, tracker, delays } = await setup(undefined, {
      beforeConnect: (tracker) => {
        // The first snapshot read fails on the server, which acks `{ ok: false }`.
        const listActiveCalls = tracker.listActiveCalls;
        tracker.listActiveCalls = async () => {
          tracker.listActiveCalls = listActiveCalls;
          throw new Error('store unavailable');
        };
      },
    });
    await tracker.ingest(callEvent('CA-1'));
    const state = await until(
      client,
      (current) => current.hasSnapshot && current.connection.isConnected,
    );
    expect(ids(state)).toEqual(['CA-1']);
    expect(state.connection).toEqual({ isConnected: true, reconnecting: false });
    expect(delays).toEqual([1]);
    await tracker.ingest(callEvent('CA-2'));
    await until(client, (current) => current.activeCalls.length === 2);
  });

  it('gives up when the server refuses a resume as malformed (invalid_payload), instead of retrying it; refresh() starts afresh', async () => {
    const { server, tracker, client, delays } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    // An update whose cursor this server cannot read back (longer than it accepts), as a server
    // of another version might send: the reconnect's `subscribe_to_calls({ after })` is refused.
    server.emit('call_update', { cursor: 'c'.repeat(300), event: callEvent('CA-1') });
    await until(client, (state) => state.lastCursor === 'c'.repeat(300));
    await dropConnections(server);
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'invalid_payload',
      status: 400,
    });
    expect(delays).toEqual([]);

    // The app's "try again": a fresh subscription (no cursor), which the server accepts.
    await client.refresh({ timeoutMs: 5_000 });
    expect(client.getSnapshot().connection).toEqual({ isConnected: true, reconnecting: false });
    await tracker.ingest(callEvent('CA-2'));
    await until(client, (current) => current.activeCalls.some((call) => call.callId === 'CA-2'));
  });

  it('gives up when the server refuses subscribe_to_calls as a bad request (invalid_argument), instead of retrying it', async () => {
    const bus = createMemoryBus();
    const httpServer = createServer();
    const server = new Server(httpServer);
    // An app's own reader that refuses what it is asked (a tenant it does not serve, say).
    const refuse = async (): Promise<never> => {
      throw new InvalidArgumentError({ message: 'Tenant tenant-a is not served here' });
    };
    attachCallTrack(server, {
      bus,
      tracker: { getCall: refuse, listActiveCalls: refuse, listActiveCallsAcrossTenants: refuse },
      authenticate: () => ({ tenantId: 'tenant-a' }),
      onError: () => {},
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await server.close();
      await bus.close();
    });
    const socket = io(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, {
      transports: ['websocket'],
    });
    cleanups.push(() => socket.close());
    const delays: number[] = [];
    const client = createCallTrackClient({
      transport: socketIoTransport({
        socket,
        retryDelay: (attempt) => {
          delays.push(attempt);
          return 0;
        },
      }),
    });
    cleanups.push(client.connect());
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'invalid_argument',
      status: 400,
      message: 'The server refused subscribe_to_calls: Tenant tenant-a is not served here',
    });
    expect(delays).toEqual([]);
  });

  it('gives up with an error when a reconnect is refused (revoked token); refresh() rejects at once', async () => {
    const { server, client, revoked } = await setup();
    await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
    revoked.add('tenant-a');
    await dropConnections(server);
    await until(client, (current) => current.connection.reconnecting);
    // Pending while the socket reconnects; a timeout far beyond the test's own.
    const pending = client.refresh({ timeoutMs: 60_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const state = await until(client, (current) => current.connection.error !== undefined);
    expect(await pending).toMatchObject({ name: 'CallTrack_RefreshError', reason: 'closed' });
    expect(state.connection).toMatchObject({ isConnected: false, reconnecting: false });
    expect(state.connection.error).toMatchObject({
      name: 'CallTrack_ConnectionError',
      code: 'unauthorized',
      message: 'Unauthorized',
    });
    // Asked after it stopped: rejected at once too.
    const failure = await client.refresh({ timeoutMs: 60_000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({ name: 'CallTrack_RefreshError', reason: 'closed' });
  });
});

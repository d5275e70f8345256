import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import { attachCallTrack } from '@calltrack/socket.io';
import { createCallTracker } from '@calltrack/tracker';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { alertEvent, callEvent, endedEvent } from './__tests__/start-sse-server';
import { ids, until } from './__tests__/wait-for-state';
import { createCallTrackClient } from './create-call-track-client';
import { socketIoTransport } from './socket-io-transport';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(history?: { maxEvents: number }) {
  const bus = createMemoryBus(history ? { history } : {});
  const tracker = createCallTracker({ bus });
  const httpServer = createServer();
  const server = new Server(httpServer);
  attachCallTrack(server, {
    bus,
    tracker,
    authenticate: (handshake) => {
      const token = (handshake.auth as { token?: string }).token;
      return token ? { tenantId: token } : null;
    },
  });
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
  const client = createCallTrackClient({ transport: socketIoTransport({ socket }) });
  cleanups.push(client.connect());
  return { server, bus, tracker, client, socket };
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

  it('resumes with auth.lastCursor after a dropped connection: exactly the missed events', async () => {
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

    // It reconnects with auth.lastCursor, gets `reset` and subscribes again for a new snapshot.
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
});

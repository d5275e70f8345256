import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { ActiveCallsReader } from '@calltrack/core';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { countingBus } from './__tests__/counting-bus';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import {
  connected,
  disconnectAndWait,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import type { ActiveCallsPayload, CallTrackAck, CallTrackDelivery } from './call-track-protocol';

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

/**
 * A memory bus with `position()` (counting subscriptions), a tracker on it (read through
 * `wrapReader` when given), and a server.
 */
async function setup(
  options: { wrapReader?: (reader: ActiveCallsReader) => ActiveCallsReader } = {},
) {
  const memory = createMemoryBus();
  const bus = countingBus(memory, { withPosition: true });
  buses.push(bus);
  const tracker = createTestTracker(bus);
  const server = await startSocketServer(bus, {
    tracker: options.wrapReader?.(tracker.reader) ?? tracker.reader,
  });
  servers.push(server);
  return { memory, bus, tracker, server };
}

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);
const cursors = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).cursor);

/** Connects a client, takes its snapshot, and answers the snapshot's cursor. */
async function snapshotCursor(server: TestSocketServer, user: string) {
  const socket = server.client({ token: `token:a:${user}` });
  const log = createEventLog(socket);
  await connected(socket);
  expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
  const payload = (await log.waitFor('active_calls'))[0]?.payload as ActiveCallsPayload;
  return { socket, log, cursor: payload.cursor as string };
}

describe('active_calls.cursor before any event, on a bus with position()', () => {
  it('is the bus position: a client back after its channel ended replays exactly what it missed', async () => {
    const { memory, bus, server } = await setup();
    await bus.publish(makeEvent('a', { id: 'earlier', type: 'call.initiated', callId: 'CA-1' }));
    const first = await snapshotCursor(server, 'u1');
    expect(first.cursor).toBe(await memory.position?.('a'));
    // The only connection of the tenant leaves: the channel ends with it.
    await disconnectAndWait(server.io, first.socket);

    for (const id of ['missed-1', 'missed-2', 'missed-3']) {
      await bus.publish(makeEvent('a', { id, callId: 'CA-1' }));
    }
    const again = server.client({ token: 'token:a:u1', lastCursor: first.cursor });
    const log = createEventLog(again);
    await connected(again);
    expect(ids(await log.waitFor('call_update', 3))).toEqual(['missed-1', 'missed-2', 'missed-3']);
    await bus.publish(makeEvent('a', { id: 'live', callId: 'CA-1' }));
    expect(ids(await log.waitFor('call_update', 4))).toEqual([
      'missed-1',
      'missed-2',
      'missed-3',
      'live',
    ]);
    expect(new Set(cursors(log.named('call_update'))).size).toBe(4);
    expect(log.named('reset')).toEqual([]);
    expect(log.named('active_calls')).toEqual([]);
  });

  it('replays exactly once while a colleague keeps the channel open', async () => {
    const { bus, server } = await setup();
    const colleague = await snapshotCursor(server, 'colleague');
    const first = await snapshotCursor(server, 'u1');
    expect(first.cursor).toBe(colleague.cursor);
    expect(first.cursor).toBe(await bus.position?.('a'));
    await disconnectAndWait(server.io, first.socket);

    await bus.publish(makeEvent('a', { id: 'missed-1', callId: 'CA-1' }));
    await bus.publish(makeEvent('a', { id: 'missed-2', callId: 'CA-1' }));
    const again = server.client({ token: 'token:a:u1', lastCursor: first.cursor });
    const log = createEventLog(again);
    await connected(again);
    expect(ids(await log.waitFor('call_update', 2))).toEqual(['missed-1', 'missed-2']);
    await bus.publish(makeEvent('a', { id: 'live', callId: 'CA-1' }));
    expect(ids(await log.waitFor('call_update', 3))).toEqual(['missed-1', 'missed-2', 'live']);
    expect(ids(await colleague.log.waitFor('call_update', 3))).toEqual([
      'missed-1',
      'missed-2',
      'live',
    ]);
    expect(log.named('reset')).toEqual([]);
    // The replay ended at the seam: one subscription again, the channel's.
    expect(bus.open('a')).toBe(1);
  });

  it('a client back at the position with nothing missed goes live without a replay', async () => {
    const { bus, server } = await setup();
    const colleague = await snapshotCursor(server, 'colleague');
    const first = await snapshotCursor(server, 'u1');
    expect(first.cursor).toBe(await bus.position?.('a'));
    await disconnectAndWait(server.io, first.socket);
    const again = server.client({ token: 'token:a:u1', lastCursor: first.cursor });
    const log = createEventLog(again);
    await connected(again);
    // A round trip after the handshake: the resume has been handled.
    expect(await ack(again, 'unsubscribe_from_call', { callId: 'CA-none' })).toEqual({ ok: true });
    expect(bus.open('a')).toBe(1);
    await bus.publish(makeEvent('a', { id: 'live', callId: 'CA-1' }));
    expect(ids(await log.waitFor('call_update'))).toEqual(['live']);
    expect(ids(await colleague.log.waitFor('call_update'))).toEqual(['live']);
    expect(log.named('reset')).toEqual([]);
  });

  it('names where the queue starts: events that arrive while the tracker is read follow it', async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let reading!: () => void;
    const read = new Promise<void>((resolve) => {
      reading = resolve;
    });
    const { memory, bus, server } = await setup({
      wrapReader: (reader) => ({
        getCall: (tenantId, callId) => reader.getCall(tenantId, callId),
        listActiveCallsAcrossTenants: (options) => reader.listActiveCallsAcrossTenants(options),
        listActiveCalls: async (tenantId, options) => {
          reading();
          await gate;
          return reader.listActiveCalls(tenantId, options);
        },
      }),
    });
    const before = await memory.publish(makeEvent('a', { id: 'before' }));
    const socket = server.client({ token: 'token:a:u1' });
    const log = createEventLog(socket);
    await connected(socket);
    const subscribed = ack(socket, 'subscribe_to_calls');
    await read;
    await bus.publish(makeEvent('a', { id: 'queued-1' }));
    await bus.publish(makeEvent('a', { id: 'queued-2' }));
    openGate();
    expect(await subscribed).toEqual({ ok: true });
    const updates = await log.waitFor('call_update', 2);
    expect(log.events.map((entry) => entry.name)).toEqual([
      'active_calls',
      'call_update',
      'call_update',
    ]);
    const [snapshot] = log.named('active_calls');
    const cursor = (snapshot?.payload as ActiveCallsPayload | undefined)?.cursor;
    expect(cursor).toBe(before.cursor);

    // Another client resuming from that cursor gets exactly the queued events, then live ones.
    const other = server.client({ token: 'token:a:u2', lastCursor: cursor });
    const otherLog = createEventLog(other);
    await connected(other);
    expect(ids(await otherLog.waitFor('call_update', 2))).toEqual(ids(updates));
    await bus.publish(makeEvent('a', { id: 'live' }));
    expect(ids(await otherLog.waitFor('call_update', 3))).toEqual(['queued-1', 'queued-2', 'live']);
    expect(ids(await log.waitFor('call_update', 3))).toEqual(['queued-1', 'queued-2', 'live']);
  });
});

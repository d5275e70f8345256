import type { Socket as NetSocket } from 'node:net';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import type { ActiveCallsReader } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import type { Socket as ServerSocket } from 'socket.io';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { gatedBus } from './__tests__/gated-bus';
import { makeEvent } from './__tests__/make-event';
import { type RawEngineClient, rawPollingClient } from './__tests__/raw-engine-client';
import {
  connected,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import type { CallTrackAck, CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-backlog-bytes');
const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];
const rawClients: Pick<RawEngineClient, 'close'>[] = [];

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

afterEach(async () => {
  for (const client of rawClients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

const MiB = 1024 * 1024;

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

/** The ids of the `call_update`s among Socket.IO packets as they travel (`42["call_update",…]`). */
const callUpdateIds = (packets: string[]) =>
  packets
    .filter((packet) => packet.startsWith('42["call_update",'))
    .map((packet) => (JSON.parse(packet.slice(2))[1] as CallTrackDelivery).event.id);

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

/** Rejects when the client is disconnected. */
const closed = (socket: Socket) =>
  new Promise<never>((_, reject) => {
    socket.once('disconnect', (reason) => reject(new Error(`Disconnected: ${reason}`)));
  });

/** What the test reads of Engine.IO's socket: the packets waiting for the transport. */
interface EngineInternals {
  writeBuffer: { data?: string }[];
  readyState: string;
}

const sizeOf = (queue: { data?: string }[]) =>
  queue.reduce((total, packet) => total + (packet.data?.length ?? 0), 0);

/**
 * The most bytes (of encoded packets) Engine.IO held for `socket` while it was open, counting
 * each packet as it is queued (the count includes the packet being queued).
 */
function watchBacklogBytes(socket: ServerSocket): () => number {
  const engine = socket.conn as unknown as EngineInternals;
  let most = 0;
  socket.conn.on('packetCreate', ({ data }: { data?: string }) => {
    if (engine.readyState === 'open') {
      most = Math.max(most, sizeOf(engine.writeBuffer) + (data?.length ?? 0));
    }
  });
  return () => most;
}

/** The TCP socket under a socket.io-client's WebSocket transport (`ws`, in Node). */
function tcpOf(client: Socket): NetSocket {
  const transport = client.io.engine.transport as unknown as { ws: { _socket: NetSocket } };
  return transport.ws._socket;
}

describe('attachCallTrack: a client that stops reading large events', () => {
  const cases = [
    // The default limit; 256 KB events (a Retell event may be close to 896 KiB).
    { transport: 'websocket', limit: undefined, size: 256_000 },
    // Long-polling queues everything until the next poll.
    { transport: 'polling', limit: 1 * MiB, size: 64_000 },
  ] as const;
  for (const { transport, limit, size } of cases) {
    it(`is closed once maxBufferedBytes wait for it, well under maxBufferedPackets (${transport})`, async () => {
      const bus = createMemoryBus({ history: { maxEvents: 10 } });
      buses.push(bus);
      const server = await startSocketServer(
        bus,
        limit === undefined ? {} : { maxBufferedBytes: limit },
        { transports: ['polling', 'websocket'] },
      );
      servers.push(server);
      const colleague = server.client({ token: 'token:a:u2' });
      const log = createEventLog(colleague);
      await connected(colleague);
      expect(await ack(colleague, 'subscribe_to_calls')).toEqual({ ok: true });

      let stalledId: string;
      let stopReading: () => void;
      if (transport === 'websocket') {
        // The real client, whose TCP socket stops being read: a frozen tab, a dead mobile link.
        const stalled = server.client({ token: 'token:a:u1' });
        await connected(stalled);
        expect(await ack(stalled, 'subscribe_to_calls')).toEqual({ ok: true });
        stalledId = stalled.id as string;
        const tcp = tcpOf(stalled);
        // A paused socket never completes a closing handshake: cut it.
        rawClients.push({ close: () => tcp.destroy() });
        stopReading = () => tcp.pause();
      } else {
        const stalled = await rawPollingClient(server.url, { token: 'token:a:u1' });
        rawClients.push(stalled);
        stalledId = stalled.socketId;
        stopReading = stalled.stopReading;
      }
      const serverSocket = server.io.of('/').sockets.get(stalledId) as ServerSocket;
      const mostQueued = watchBacklogBytes(serverSocket);
      let closedWith: string | undefined;
      serverSocket.once('disconnect', (reason) => {
        closedWith = reason;
      });
      stopReading();

      const text = 'x'.repeat(size);
      const maxBytes = limit ?? 8 * MiB;
      const published: string[] = [];
      // Far fewer packets than maxBufferedPackets (1,000), far more bytes than the limit.
      while (closedWith === undefined && published.length < 400) {
        // Four events a turn of the event loop, as webhooks arrive.
        for (let index = 0; index < 4; index += 1) {
          const event = makeEvent('a', { data: { text } });
          await bus.publish(event);
          published.push(event.id);
        }
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      expect(closedWith).toBe('forced close');
      // The limit, and what was queued in the turn the queue went past it.
      expect(mostQueued()).toBeLessThan(maxBytes + 5 * (size + 1000));
      const engine = serverSocket.conn as unknown as EngineInternals;
      await new Promise<void>((resolve) => process.nextTick(resolve));
      expect(engine.writeBuffer).toHaveLength(0);

      // The colleague missed nothing and streams on.
      const after = makeEvent('a', { id: 'after-the-cut' });
      await bus.publish(after);
      const received = await log.waitFor('call_update', published.length + 1);
      expect(ids(received)).toEqual([...published, after.id]);
      expect(colleague.connected).toBe(true);
    });
  }

  it('keeps a reading client that a burst of large events gives more than maxBufferedBytes at once', async () => {
    const bus = createMemoryBus({ history: { maxEvents: 10 } });
    buses.push(bus);
    const server = await startSocketServer(bus, { maxBufferedBytes: 1 * MiB });
    servers.push(server);
    const client = server.client({ token: 'token:a:u1' });
    const log = createEventLog(client);
    await connected(client);
    expect(await ack(client, 'subscribe_to_calls')).toEqual({ ok: true });
    const text = 'x'.repeat(200_000);
    // 40 events (8 MB) without a turn of the event loop in between, then more, turn by turn.
    const published: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const event = makeEvent('a', { data: { text } });
      await bus.publish(event);
      published.push(event.id);
    }
    for (let turn = 0; turn < 10; turn += 1) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const event = makeEvent('a', { data: { text } });
      await bus.publish(event);
      published.push(event.id);
    }
    const received = await Promise.race([
      log.waitFor('call_update', published.length),
      closed(client),
    ]);
    expect(ids(received)).toEqual(published);
  });

  it('keeps a long-polling client whose catch-up passes maxBufferedBytes, and tells it to reload (lagged)', async () => {
    // The replay is held until the client has connected, so it is queued between two polls.
    const bus = gatedBus(createMemoryBus());
    buses.push(bus);
    const server = await startSocketServer(
      bus,
      { maxBufferedBytes: 1 * MiB },
      { transports: ['polling', 'websocket'] },
    );
    servers.push(server);
    const base = await bus.publish(makeEvent('a', { id: 'base' }));
    // Missed while away: 30 events of 200 KB, 6 MB.
    const size = 200_000;
    const text = 'x'.repeat(size);
    const missed: string[] = [];
    for (let index = 0; index < 30; index += 1) {
      const event = makeEvent('a', { data: { text } });
      await bus.publish(event);
      missed.push(event.id);
    }
    // The catch-up is over once the last event or a `reset` is queued.
    let replayed = 0;
    let caughtUpNow!: () => void;
    const caughtUp = new Promise<void>((resolve) => {
      caughtUpNow = resolve;
    });
    let closedWith: string | undefined;
    let mostQueued: () => number = () => 0;
    server.io.on('connection', (socket) => {
      mostQueued = watchBacklogBytes(socket);
      socket.conn.on('packetCreate', ({ data }: { data?: unknown }) => {
        if (typeof data !== 'string') return;
        if (data.startsWith('2["call_update"')) replayed += 1;
        if (data.startsWith('2["reset"') || replayed === missed.length) caughtUpNow();
      });
      socket.once('disconnect', (reason) => {
        closedWith = reason;
      });
    });

    // It does not poll while the replay is queued for it, nor in the next turns.
    bus.hold('replay');
    const client = await rawPollingClient(server.url, {
      token: 'token:a:u1',
      lastCursor: base.cursor,
    });
    bus.release('replay');
    await caughtUp;
    await new Promise<void>((resolve) => setImmediate(resolve));
    await bus.publish(makeEvent('a', { id: 'while-away' }));
    await new Promise<void>((resolve) => setImmediate(resolve));
    // The limit and the event that went past it.
    expect(mostQueued()).toBeLessThan(1 * MiB + 2 * (size + 1000));

    // Its next poll takes the start of the replay, then `reset` (lagged); the connection stays.
    while (!client.received.some((packet) => packet.startsWith('42["reset"'))) {
      await client.poll();
    }
    const resetAt = client.received.findIndex((packet) => packet.startsWith('42["reset"'));
    expect(JSON.parse((client.received[resetAt] as string).slice(2))).toEqual([
      'reset',
      { reason: 'lagged' },
    ]);
    const beforeReset = callUpdateIds(client.received.slice(0, resetAt));
    expect(beforeReset.length).toBeGreaterThan(0);
    expect(beforeReset).toEqual(missed.slice(0, beforeReset.length));
    expect(callUpdateIds(client.received.slice(resetAt))).toEqual([]);
    // It reloads on the same connection and streams on.
    await client.send('421["subscribe_to_calls",{}]');
    const live = makeEvent('a', { id: 'live' });
    while (!client.received.includes('431[{"ok":true}]')) await client.poll();
    await bus.publish(live);
    while (closedWith === undefined && !callUpdateIds(client.received).includes(live.id)) {
      await client.poll();
    }
    expect(closedWith).toBeUndefined();
    expect(callUpdateIds(client.received)).toEqual([...beforeReset, live.id]);
  });
});

/** The ids of the `call_update`s a client received, in order. */
const updateIds = (log: { name: string; payload: unknown }[]) =>
  log.filter((entry) => entry.name === 'call_update').map((entry) => ids([entry])[0]);

describe('attachCallTrack: a client that resumes over a history of large events', () => {
  const histories = [
    // A long history: everything the client missed can still be replayed, in one turn.
    { name: 'memory bus', bus: () => createMemoryBus({ history: { maxEvents: 1000 } }) },
    // Read ten events a page: the queue grows over many turns. History holds the 18 MB missed
    // (the default history.maxBytes, 16 MiB, would drop the start: a history-gap, not this case).
    {
      name: 'Redis bus, page by page',
      bus: () =>
        createRedisBus({
          redis: redis as Redis,
          prefix,
          replayBatchSize: 10,
          history: { maxBytes: 64 * MiB },
        }),
    },
  ] as const;
  for (const history of histories) {
    it.skipIf(history.name !== 'memory bus' && !redis)(
      `is told to reload (lagged) once its catch-up queues maxBufferedBytes, and stays connected (${history.name})`,
      async () => {
        const bus = history.bus();
        buses.push(bus);
        const server = await startSocketServer(bus);
        servers.push(server);
        const base = await bus.publish(makeEvent('a', { id: 'base' }));
        // Missed: 60 events of 300 KB, 18 MB, over twice the default limit (8 MiB).
        const size = 300_000;
        const text = 'x'.repeat(size);
        const missed: string[] = [];
        for (let index = 0; index < 60; index += 1) {
          const event = makeEvent('a', { data: { text } });
          await bus.publish(event);
          missed.push(event.id);
        }

        const client = server.client({ token: 'token:a:u1' });
        const log = createEventLog(client);
        await connected(client);
        const serverSocket = server.io.of('/').sockets.get(client.id as string) as ServerSocket;
        const mostQueued = watchBacklogBytes(serverSocket);
        let closedWith: string | undefined;
        serverSocket.once('disconnect', (reason) => {
          closedWith = reason;
        });
        // The catch-up is over once the last event or a `reset` is queued.
        let replayed = 0;
        let resetQueued = false;
        const caughtUp = new Promise<void>((resolve) => {
          serverSocket.conn.on('packetCreate', ({ data }: { data?: unknown }) => {
            if (typeof data !== 'string') return;
            if (data.startsWith('2["call_update"')) replayed += 1;
            if (data.startsWith('2["reset"')) resetQueued = true;
            if (resetQueued || replayed === missed.length) resolve();
          });
        });
        const tcp = tcpOf(client);
        rawClients.push({ close: () => tcp.destroy() });
        // It resumes from its old cursor and stops reading: a tab frozen as it came back.
        tcp.pause();
        client.emit('subscribe_to_calls', { after: base.cursor }, () => {});
        await caughtUp;
        // A later turn, and a later event: the connection is kept.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await bus.publish(makeEvent('a', { id: 'while-stalled' }));
        await new Promise<void>((resolve) => setImmediate(resolve));

        expect(resetQueued).toBe(true);
        // The limit, one event past it and the batch handed to the transport first.
        expect(mostQueued()).toBeLessThan(8 * MiB + 3 * (size + 1000));
        expect(closedWith).toBeUndefined();

        // Once it reads again it gets the start of the replay, then `reset` (lagged).
        tcp.resume();
        const [reset] = await Promise.race([log.waitFor('reset'), closed(client)]);
        expect(reset?.payload).toEqual({ reason: 'lagged' });
        const beforeReset = updateIds(log.events.slice(0, log.events.indexOf(reset as never)));
        expect(beforeReset.length).toBeGreaterThan(0);
        expect(beforeReset.length).toBeLessThan(missed.length);
        expect(beforeReset).toEqual(missed.slice(0, beforeReset.length));
        // Nothing of the stream follows the reset: the client reloads, on the same connection.
        expect(await ack(client, 'subscribe_to_calls')).toEqual({ ok: true });
        const live = makeEvent('a', { id: 'live' });
        await bus.publish(live);
        const received = await Promise.race([
          log.waitFor('call_update', beforeReset.length + 1),
          closed(client),
        ]);
        expect(ids(received)).toEqual([...beforeReset, live.id]);
        expect(client.connected).toBe(true);
        expect(closedWith).toBeUndefined();
      },
    );
  }

  it('is told to reload (lagged) when what the channel queued behind its replay passes maxBufferedBytes', async () => {
    // The replay is held while the tenant publishes: those events wait behind it, and follow
    // the replay's first event at once.
    const bus = gatedBus(createMemoryBus());
    buses.push(bus);
    const server = await startSocketServer(bus, { maxBufferedBytes: 1 * MiB });
    servers.push(server);
    const base = await bus.publish(makeEvent('a', { id: 'base' }));
    bus.hold('replay');
    const client = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(client);
    await connected(client);
    const serverSocket = server.io.of('/').sockets.get(client.id as string) as ServerSocket;
    const mostQueued = watchBacklogBytes(serverSocket);
    // 30 events of 200 KB, 6 MB, while it resumes.
    const size = 200_000;
    const text = 'x'.repeat(size);
    const missed: string[] = [];
    for (let index = 0; index < 30; index += 1) {
      const event = makeEvent('a', { data: { text } });
      await bus.publish(event);
      missed.push(event.id);
    }
    bus.release('replay');
    await Promise.race([
      log.waitFor('reset'),
      log.waitFor('call_update', missed.length),
      closed(client),
    ]);
    // The limit and the event that went past it (and the batch handed to the transport first).
    expect(mostQueued()).toBeLessThan(1 * MiB + 3 * (size + 1000));
    const [reset] = log.named('reset');
    expect(reset?.payload).toEqual({ reason: 'lagged' });
    const beforeReset = updateIds(log.events.slice(0, log.events.indexOf(reset as never)));
    expect(beforeReset.length).toBeGreaterThan(0);
    expect(beforeReset.length).toBeLessThan(missed.length);
    expect(beforeReset).toEqual(missed.slice(0, beforeReset.length));
    expect(await ack(client, 'subscribe_to_calls')).toEqual({ ok: true });
    const live = makeEvent('a', { id: 'live' });
    await bus.publish(live);
    const received = await Promise.race([
      log.waitFor('call_update', beforeReset.length + 1),
      closed(client),
    ]);
    expect(ids(received)).toEqual([...beforeReset, live.id]);
  });

  it('gets a plain replay when what it missed is under maxBufferedBytes', async () => {
    const bus = createMemoryBus({ history: { maxEvents: 1000 } });
    buses.push(bus);
    const server = await startSocketServer(bus);
    servers.push(server);
    const base = await bus.publish(makeEvent('a', { id: 'base' }));
    // Missed: 20 events of 300 KB, 6 MB.
    const text = 'x'.repeat(300_000);
    const missed: string[] = [];
    for (let index = 0; index < 20; index += 1) {
      const event = makeEvent('a', { data: { text } });
      await bus.publish(event);
      missed.push(event.id);
    }
    const client = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(client);
    await connected(client);
    expect(ids(await log.waitFor('call_update', missed.length))).toEqual(missed);
    const live = makeEvent('a', { id: 'live' });
    await bus.publish(live);
    const received = await Promise.race([
      log.waitFor('call_update', missed.length + 1),
      closed(client),
    ]);
    expect(ids(received)).toEqual([...missed, live.id]);
    expect(log.named('reset')).toEqual([]);
  });
});

/**
 * A real tracker on `bus` whose snapshot reads can be held: `holdNextRead()` holds the next
 * `listActiveCalls` until its `release()`.
 */
function heldSnapshots(bus: EventBus) {
  const tracker = createTestTracker(bus);
  let hold: { loading: () => void; gate: Promise<void> } | undefined;
  const holdNextRead = () => {
    let loading!: () => void;
    const loadStarted = new Promise<void>((resolve) => {
      loading = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    hold = { loading, gate };
    return { loadStarted, release };
  };
  const reader: ActiveCallsReader = {
    ...tracker.reader,
    async listActiveCalls(tenantId, options) {
      const held = hold;
      hold = undefined;
      if (held) {
        held.loading();
        await held.gate;
      }
      return tracker.reader.listActiveCalls(tenantId, options);
    },
  };
  return { tracker, reader, holdNextRead };
}

describe('attachCallTrack: the events queued while a snapshot loads', () => {
  it('are sent after active_calls up to maxBufferedBytes, then reset (lagged); the reload streams and does not lag again', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const { reader, holdNextRead } = heldSnapshots(bus);
    const server = await startSocketServer(bus, { tracker: reader, maxBufferedBytes: 1 * MiB });
    servers.push(server);
    // A colleague in the rooms: once it has an event, the loading connection has queued it.
    const colleague = server.client({ token: 'token:a:u2' });
    const colleagueLog = createEventLog(colleague);
    await connected(colleague);
    expect(await ack(colleague, 'subscribe_to_calls')).toEqual({ ok: true });
    const size = 200_000;
    const text = 'x'.repeat(size);
    /** Publishes `count` events of 200 KB, each once the colleague has the one before. */
    const publishLarge = async (count: number) => {
      const published: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const event = makeEvent('a', { data: { text } });
        await bus.publish(event);
        published.push(event.id);
        await colleagueLog.waitFor('call_update', colleagueLog.named('call_update').length + 1);
      }
      return published;
    };

    const client = server.client({ token: 'token:a:u1' });
    const log = createEventLog(client);
    await connected(client);
    const serverSocket = server.io.of('/').sockets.get(client.id as string) as ServerSocket;
    const mostQueued = watchBacklogBytes(serverSocket);
    let closedWith: string | undefined;
    serverSocket.once('disconnect', (reason) => {
      closedWith = reason;
    });
    const first = holdNextRead();
    const subscribed = ack(client, 'subscribe_to_calls');
    await first.loadStarted;
    // 30 events of 200 KB (6 MB) queue while the snapshot loads, all sent in one turn after it.
    const queued = await publishLarge(30);
    first.release();
    expect(await subscribed).toEqual({ ok: true });
    await Promise.race([
      log.waitFor('reset'),
      log.waitFor('call_update', queued.length),
      closed(client),
    ]);
    // The limit and the event that went past it (and the batch handed to the transport first).
    expect(mostQueued()).toBeLessThan(1 * MiB + 3 * (size + 1000));
    const [reset] = log.named('reset');
    expect(reset?.payload).toEqual({ reason: 'lagged' });
    const resetAt = log.events.indexOf(reset as never);
    expect(log.events[0]?.name).toBe('active_calls');
    const beforeReset = updateIds(log.events.slice(0, resetAt));
    expect(beforeReset.length).toBeGreaterThan(0);
    expect(beforeReset.length).toBeLessThan(queued.length);
    expect(beforeReset).toEqual(queued.slice(0, beforeReset.length));
    expect(log.events.slice(resetAt + 1)).toEqual([]);

    // It reloads, as on any reset; the queue of this snapshot (600 KB) is its own, under the
    // limit: no second `lagged`.
    const second = holdNextRead();
    const reloaded = ack(client, 'subscribe_to_calls');
    await second.loadStarted;
    const queuedAgain = await publishLarge(3);
    second.release();
    expect(await reloaded).toEqual({ ok: true });
    const live = makeEvent('a', { id: 'live' });
    await bus.publish(live);
    await Promise.race([
      log.waitFor('call_update', beforeReset.length + queuedAgain.length + 1),
      closed(client),
    ]);
    expect(log.events.slice(resetAt + 1).map((entry) => entry.name)).toEqual([
      'active_calls',
      'call_update',
      'call_update',
      'call_update',
      'call_update',
    ]);
    expect(updateIds(log.events.slice(resetAt + 1))).toEqual([...queuedAgain, live.id]);
    expect(closedWith).toBeUndefined();
    expect(client.connected).toBe(true);
  });
  it('past maxPendingEvents, sends the watched calls’ events up to maxBufferedBytes, then reset (lagged); the reload streams and does not lag again', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const { tracker, reader, holdNextRead } = heldSnapshots(bus);
    const server = await startSocketServer(bus, {
      tracker: reader,
      maxBufferedBytes: 1 * MiB,
      maxPendingEvents: 20,
    });
    servers.push(server);
    // A colleague streaming every type: once it has an event, the loading connection queued it.
    const colleague = server.client({ token: 'token:a:u2' });
    const colleagueLog = createEventLog(colleague);
    await connected(colleague);
    expect(await ack(colleague, 'subscribe_to_calls')).toEqual({ ok: true });
    const watchedCall = makeEvent('a', { type: 'call.initiated', callId: 'CA-watched' });
    await tracker.ingest(watchedCall);
    await colleagueLog.waitFor('call_update', 1);
    const size = 200_000;
    const text = 'x'.repeat(size);
    /** Publishes `count` events of 200 KB of the watched call, each once the colleague has it. */
    const publishLarge = async (count: number) => {
      const published: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const event = makeEvent('a', { callId: 'CA-watched', data: { text } });
        await bus.publish(event);
        published.push(event.id);
        await colleagueLog.waitFor('call_update', colleagueLog.named('call_update').length + 1);
      }
      return published;
    };

    const client = server.client({ token: 'token:a:u1' });
    const log = createEventLog(client);
    await connected(client);
    const serverSocket = server.io.of('/').sockets.get(client.id as string) as ServerSocket;
    const mostQueued = watchBacklogBytes(serverSocket);
    let closedWith: string | undefined;
    serverSocket.once('disconnect', (reason) => {
      closedWith = reason;
    });
    expect(await ack(client, 'subscribe_to_call', { callId: 'CA-watched' })).toEqual({ ok: true });
    await log.waitFor('call_data');
    // The stream takes no transcripts: what the client gets of them is its call subscription's.
    const first = holdNextRead();
    const subscribed = ack(client, 'subscribe_to_calls', { types: ['call.initiated'] });
    await first.loadStarted;
    // The 21st event overflows the queue (20): the snapshot moves and the 21 events of the
    // watched call (4.2 MB) go to the client in that one turn.
    const queued = await publishLarge(21);
    await Promise.race([
      log.waitFor('reset'),
      log.waitFor('call_update', queued.length),
      closed(client),
    ]);
    // The limit and the event that went past it (and the batch handed to the transport first).
    expect(mostQueued()).toBeLessThan(1 * MiB + 3 * (size + 1000));
    const [reset] = log.named('reset');
    expect(reset?.payload).toEqual({ reason: 'lagged' });
    const resetAt = log.events.indexOf(reset as never);
    const beforeReset = updateIds(log.events.slice(0, resetAt));
    expect(beforeReset.length).toBeGreaterThan(0);
    expect(beforeReset.length).toBeLessThan(queued.length);
    expect(beforeReset).toEqual(queued.slice(0, beforeReset.length));
    // The reset ended that snapshot: its read completes with nothing more sent.
    first.release();
    expect(await subscribed).toEqual({ ok: true });
    expect(log.named('active_calls')).toEqual([]);
    expect(log.events.slice(resetAt + 1)).toEqual([]);

    // It reloads, as on any reset: its call (a fresh call_data) and a snapshot, whose queue
    // (3 events, 600 KB) is its own: no second `lagged`.
    expect(await ack(client, 'subscribe_to_call', { callId: 'CA-watched' })).toEqual({ ok: true });
    await log.waitFor('call_data', 2);
    const second = holdNextRead();
    const reloaded = ack(client, 'subscribe_to_calls', { types: ['call.initiated'] });
    await second.loadStarted;
    const queuedAgain = await publishLarge(3);
    second.release();
    expect(await reloaded).toEqual({ ok: true });
    const live = makeEvent('a', { id: 'live', callId: 'CA-watched' });
    await bus.publish(live);
    await Promise.race([
      log.waitFor('call_update', beforeReset.length + queuedAgain.length + 1),
      closed(client),
    ]);
    expect(log.events.slice(resetAt + 1).map((entry) => entry.name)).toEqual([
      'call_data',
      'active_calls',
      'call_update',
      'call_update',
      'call_update',
      'call_update',
    ]);
    expect(updateIds(log.events.slice(resetAt + 1))).toEqual([...queuedAgain, live.id]);
    expect(log.named('reset')).toHaveLength(1);
    expect(closedWith).toBeUndefined();
    expect(client.connected).toBe(true);
  });
});

import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import type { Socket as ServerSocket } from 'socket.io';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import {
  type RawEngineClient,
  rawPollingClient,
  rawWebSocketClient,
} from './__tests__/raw-engine-client';
import {
  connected,
  disconnectAndWait,
  startSocketServer,
  type TestSocketServer,
} from './__tests__/start-socket-server';
import type { CallTrackAck, CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-backlog');
const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];
const rawClients: RawEngineClient[] = [];

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

function ack(socket: Socket, event: string, ...args: unknown[]): Promise<CallTrackAck> {
  return socket.timeout(5000).emitWithAck(event, ...args);
}

const ids = (log: { payload: unknown }[]) =>
  log.map((entry) => (entry.payload as CallTrackDelivery).event.id);

/** Rejects when the client is disconnected. */
const closed = (socket: Socket) =>
  new Promise<never>((_, reject) => {
    socket.once('disconnect', (reason) => reject(new Error(`Disconnected: ${reason}`)));
  });

/** What the test reads of Engine.IO's socket: the packets waiting for the transport. */
interface EngineInternals {
  writeBuffer: unknown[];
  readyState: string;
}

/**
 * The most packets Engine.IO held for `socket` while it was open, counting each packet as it is
 * queued (the count includes the packet being queued).
 */
function watchBacklog(socket: ServerSocket): () => number {
  const engine = socket.conn as unknown as EngineInternals;
  let most = 0;
  socket.conn.on('packetCreate', () => {
    if (engine.readyState === 'open') most = Math.max(most, engine.writeBuffer.length + 1);
  });
  return () => most;
}

const transports = [
  // 32 KB events: the kernel's socket buffers take a few MB before Engine.IO's queue grows.
  { transport: 'websocket', connect: rawWebSocketClient, size: 32_000 },
  // Long-polling queues everything until the next poll.
  { transport: 'polling', connect: rawPollingClient, size: 100 },
] as const;

describe('attachCallTrack: a client that stops reading', () => {
  for (const { transport, connect, size } of transports) {
    it(`is closed once maxBufferedPackets wait for it (${transport}), while others stream on`, async () => {
      // A short history: the memory held is what waits for the connections.
      const bus = createMemoryBus({ history: { maxEvents: 10 } });
      buses.push(bus);
      const server = await startSocketServer(
        bus,
        { maxBufferedPackets: 100 },
        { transports: ['polling', 'websocket'] },
      );
      servers.push(server);
      const colleague = server.client({ token: 'token:a:u2' });
      const log = createEventLog(colleague);
      await connected(colleague);
      expect(await ack(colleague, 'subscribe_to_calls')).toEqual({ ok: true });

      const stalled = await connect(server.url, { token: 'token:a:u1' });
      rawClients.push(stalled);
      const serverSocket = server.io.of('/').sockets.get(stalled.socketId) as ServerSocket;
      const mostQueued = watchBacklog(serverSocket);
      let closedWith: string | undefined;
      serverSocket.once('disconnect', (reason) => {
        closedWith = reason;
      });
      stalled.stopReading();

      const text = 'x'.repeat(size);
      const published: string[] = [];
      while (closedWith === undefined && published.length < 3000) {
        // Ten events a turn of the event loop, as webhooks arrive.
        for (let index = 0; index < 10; index += 1) {
          const event = makeEvent('a', { data: { text } });
          await bus.publish(event);
          published.push(event.id);
        }
        // It keeps the connection alive: a pong now and then, nothing read.
        await stalled.send('3');
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      expect(closedWith).toBe('forced close');
      // The limit, and what was queued in the turn the queue went past it.
      expect(mostQueued()).toBeLessThanOrEqual(100 + 10);
      // What was queued for it is let go.
      const engine = serverSocket.conn as unknown as EngineInternals;
      await new Promise<void>((resolve) => process.nextTick(resolve));
      expect(engine.writeBuffer).toHaveLength(0);

      // The colleague missed nothing and streams on.
      const after = makeEvent('a', { id: 'after-the-cut' });
      await bus.publish(after);
      const received = await log.waitFor('call_update', published.length + 1);
      expect(ids(received)).toEqual([...published, after.id]);
      expect(log.named('reset')).toEqual([]);
      expect(colleague.connected).toBe(true);
    });
  }

  it('keeps clients that a burst of events gives more than maxBufferedPackets at once', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const server = await startSocketServer(bus, { maxBufferedPackets: 20 });
    servers.push(server);
    const sockets = [
      server.client({ token: 'token:a:u1' }),
      server.client({ token: 'token:a:u2' }),
    ];
    const logs = sockets.map(createEventLog);
    for (const socket of sockets) {
      await connected(socket);
      expect(await ack(socket, 'subscribe_to_calls')).toEqual({ ok: true });
    }
    // 200 events without a turn of the event loop in between: no transport writes meanwhile.
    const burst: string[] = [];
    for (let index = 0; index < 200; index += 1) {
      const event = makeEvent('a');
      await bus.publish(event);
      burst.push(event.id);
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = makeEvent('a', { id: 'next' });
    await bus.publish(next);
    for (const [index, log] of logs.entries()) {
      const all = await Promise.race([
        log.waitFor('call_update', 201),
        closed(sockets[index] as Socket),
      ]);
      expect(ids(all)).toEqual([...burst, next.id]);
    }
  });

  it('keeps a client that catches up on more packets at once than maxBufferedPackets', async () => {
    const bus = createMemoryBus();
    buses.push(bus);
    const server = await startSocketServer(bus, { maxBufferedPackets: 20 });
    servers.push(server);
    const first = server.client({ token: 'token:a:u1' });
    await connected(first);
    expect(await ack(first, 'subscribe_to_calls')).toEqual({ ok: true });
    const base = await bus.publish(makeEvent('a'));
    await disconnectAndWait(server.io, first);

    // Missed while away: 100 status events, each a call_update and a lifecycle packet.
    const missed: string[] = [];
    for (let index = 0; index < 100; index += 1) {
      const event = makeEvent('a', { type: 'call.ringing', callId: `CA-${index}` });
      await bus.publish(event);
      missed.push(event.id);
    }
    const back = server.client({ token: 'token:a:u1', lastCursor: base.cursor });
    const log = createEventLog(back);
    await connected(back);
    expect(ids(await log.waitFor('call_update', 100))).toEqual(missed);
    const live = makeEvent('a', { id: 'live' });
    await bus.publish(live);
    expect(ids(await log.waitFor('call_update', 101))).toEqual([...missed, live.id]);
    expect(back.connected).toBe(true);
    expect(log.named('reset')).toEqual([]);
  });
});

/** The ids of the `call_update`s among Socket.IO packets as they travel (`42["call_update",…]`). */
const callUpdateIds = (packets: string[]) =>
  packets
    .filter((packet) => packet.startsWith('42["call_update",'))
    .map((packet) => (JSON.parse(packet.slice(2))[1] as CallTrackDelivery).event.id);

describe.skipIf(!redis)(
  'attachCallTrack: a long-polling client catching up on the Redis bus',
  () => {
    it('takes a replay read page by page in its next polls, without being closed', async () => {
      const bus = createRedisBus({ redis: redis as Redis, prefix, replayBatchSize: 10 });
      buses.push(bus);
      const server = await startSocketServer(
        bus,
        { maxBufferedPackets: 20 },
        { transports: ['polling', 'websocket'] },
      );
      servers.push(server);
      const base = await bus.publish(makeEvent('p', { id: 'base' }));
      // 100 status events: 200 packets, each a call_update and a lifecycle event.
      const missed: string[] = [];
      for (let index = 0; index < 100; index += 1) {
        const event = makeEvent('p', { type: 'call.ringing', callId: `CA-${index}` });
        await bus.publish(event);
        missed.push(event.id);
      }
      let queued = 0;
      let allQueued!: () => void;
      const replayQueued = new Promise<void>((resolve) => {
        allQueued = resolve;
      });
      let closedWith: string | undefined;
      server.io.on('connection', (socket) => {
        socket.conn.on('packetCreate', ({ data }: { data?: unknown }) => {
          // A Socket.IO event in an Engine.IO message packet: `2[…]`.
          if (typeof data === 'string' && data.startsWith('2[')) queued += 1;
          if (queued === missed.length * 2) allQueued();
        });
        socket.once('disconnect', (reason) => {
          closedWith = reason;
        });
      });

      // It does not poll while the replay, ten events a Redis read, is queued for it.
      const client = await rawPollingClient(server.url, {
        token: 'token:p:u1',
        lastCursor: base.cursor,
      });
      await replayQueued;
      await new Promise<void>((resolve) => setImmediate(resolve));
      const live = makeEvent('p', { id: 'live' });
      await bus.publish(live);
      while (closedWith === undefined && !callUpdateIds(client.received).includes(live.id)) {
        await client.poll();
      }
      expect(closedWith).toBeUndefined();
      expect(callUpdateIds(client.received)).toEqual([...missed, live.id]);
      expect(closedWith).toBeUndefined();
    });
  },
);

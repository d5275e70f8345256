import type { Socket as NetSocket } from 'node:net';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { Socket as ServerSocket } from 'socket.io';
import type { Socket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
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

const servers: TestSocketServer[] = [];
const buses: EventBus[] = [];
const rawClients: Pick<RawEngineClient, 'close'>[] = [];

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

  it('keeps a long-polling client that catches up on more bytes than maxBufferedBytes', async () => {
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
    const text = 'x'.repeat(200_000);
    const missed: string[] = [];
    for (let index = 0; index < 30; index += 1) {
      const event = makeEvent('a', { data: { text } });
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
        if (typeof data === 'string' && data.startsWith('2["call_update"')) queued += 1;
        if (queued === missed.length) allQueued();
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
    await replayQueued;
    await new Promise<void>((resolve) => setImmediate(resolve));
    const live = makeEvent('a', { id: 'live' });
    await bus.publish(live);
    await new Promise<void>((resolve) => setImmediate(resolve));
    const next = makeEvent('a', { id: 'next' });
    await bus.publish(next);
    while (closedWith === undefined && !callUpdateIds(client.received).includes(next.id)) {
      await client.poll();
    }
    expect(closedWith).toBeUndefined();
    expect(callUpdateIds(client.received)).toEqual([...missed, live.id, next.id]);
  });
});

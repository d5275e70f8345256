// The scaling guide: "each process ... emits with io.local, so calltrack needs no Socket.IO
// adapter (one you use for your own events never forwards calltrack's packets)". Two servers on
// one Redis bus, joined by an adapter that forwards every broadcast not flagged `local` to the
// other server, as the Redis and cluster adapters do.
import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { Server } from 'socket.io';
import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected, startSocketServer } from './__tests__/start-socket-server';
import type { CallTrackDelivery } from './call-track-protocol';

const redis = await connectTestRedis();
const prefix = uniquePrefix('socket-io-adapter');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

type AdapterClass = new (
  namespace: unknown,
) => {
  broadcast(packet: unknown, options: { flags?: { local?: boolean } }): void;
  nsp: { name: string };
};

/**
 * Socket.IO's in-memory adapter, extended to forward each broadcast not flagged `local` to the
 * same namespace on every other server of the "cluster" (what a Redis adapter does over Redis).
 */
function forwardingAdapter(): AdapterClass {
  // A server without an HTTP server holds nothing to close.
  const Base = new Server().of('/').adapter.constructor as AdapterClass;
  const members = new Set<InstanceType<AdapterClass>>();
  return class Forwarding extends Base {
    constructor(namespace: unknown) {
      super(namespace);
      members.add(this);
    }
    override broadcast(packet: unknown, options: { flags?: { local?: boolean } }): void {
      if (options.flags?.local !== true) {
        for (const member of members) {
          if (member !== this && member.nsp.name === this.nsp.name) {
            Base.prototype.broadcast.call(member, packet, options);
          }
        }
      }
      super.broadcast(packet, options);
    }
  };
}

describe.skipIf(!redis)('attachCallTrack next to an adapter that forwards broadcasts', () => {
  it("delivers each event once per client: the adapter forwards the app's broadcasts, never calltrack's", async () => {
    const adapter = forwardingAdapter();
    const buses = [1, 2].map(() => createRedisBus({ redis: redis!, prefix }));
    const servers = await Promise.all(
      buses.map((bus) => startSocketServer(bus, {}, { adapter: adapter as never })),
    );
    try {
      const clients = servers.map((server) => server.client({ token: 'token:t1:u1' }));
      const logs = clients.map(createEventLog);
      await Promise.all(clients.map(connected));
      // Acknowledged once the stream is attached (no tracker here, so no active_calls).
      for (const client of clients) {
        expect(await client.timeout(5_000).emitWithAck('subscribe_to_calls')).toEqual({ ok: true });
      }

      // The adapter works: the app's own broadcast on one server reaches both clients.
      servers[0]!.io.emit('app_notice', 'from server 1');
      await Promise.all(logs.map((log) => log.waitFor('app_notice', 1)));

      for (let index = 0; index < 5; index += 1) {
        await buses[index % 2]!.publish(makeEvent('t1', { id: `event-${index}` }));
      }
      await buses[0]!.publish(makeEvent('t1', { id: 'last' }));
      await Promise.all(logs.map((log) => log.waitFor('call_update', 6)));
      // Give a forwarded copy time to arrive after the last one: one more round trip each.
      servers[1]!.io.emit('app_notice', 'from server 2');
      await Promise.all(logs.map((log) => log.waitFor('app_notice', 2)));
      for (const log of logs) {
        expect(
          log.named('call_update').map((entry) => (entry.payload as CallTrackDelivery).event.id),
        ).toEqual(['event-0', 'event-1', 'event-2', 'event-3', 'event-4', 'last']);
        expect(log.named('reset')).toEqual([]);
      }
    } finally {
      for (const server of servers) await server.close();
      for (const bus of buses) await bus.close();
    }
  });
});

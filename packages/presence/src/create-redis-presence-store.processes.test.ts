import type { BusMessage } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { collect, type PresenceWorker, startPresenceWorker } from './__tests__/worker-harness';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import type { Presence } from './presence';
import type { UserMessageData } from './to-message-event';
import type { PresenceEventData } from './to-presence-event';

const redis = await connectTestRedis();
const storePrefix = uniquePrefix('presence-mp-store');
const busPrefix = uniquePrefix('presence-mp-bus');

/**
 * Real-clock timings: a heartbeat every 200 ms, gone 1 s after the last one. Idling (away) is
 * left out (`awayAfterMs` = the TTL): a child process on two busy shared cores can stall for a
 * few hundred milliseconds, which would show as away/online flaps, and these tests are about
 * crashes, not stalls (the conformance suite and the property test cover away exactly).
 */
const timings = {
  heartbeatIntervalMs: 200,
  awayAfterMs: 1000,
  connectionTtlMs: 1000,
  leaveDelayMs: 100,
  sweepIntervalMs: 200,
  publishLeaseMs: 500,
};
/** Slack for two shared cores: process scheduling, a GC pause. */
const tolerance = 400;

/** A marker event: everything published before it has been delivered once it arrives. */
const marker = (tenantId: string, name: string): CallEvent => ({
  id: `marker:${name}`,
  type: 'test.marker',
  tenantId,
  provider: 'calltrack',
  occurredAt: new Date().toISOString(),
  receivedAt: new Date().toISOString(),
  data: {},
});

/** mulberry32: a seeded PRNG, so the random run is the same every time. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const eventOf = (message: BusMessage): CallEvent | undefined =>
  message.type === 'event' ? message.event : undefined;

describe.skipIf(!redis)('presence on one Redis, several processes', () => {
  const workers: PresenceWorker[] = [];
  const engines: Presence[] = [];
  const bus = redis ? createRedisBus({ redis, prefix: busPrefix }) : undefined;

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.kill()));
    await Promise.all(engines.splice(0).map((engine) => engine.stop()));
  });
  afterAll(async () => {
    if (!redis) return;
    await bus?.close();
    await deleteKeys(redis, storePrefix);
    await deleteKeys(redis, busPrefix);
    redis.disconnect();
  });

  /** Server C: the test process itself, with its own presence (sweeper running). */
  const serverC = (): Presence => {
    const engine = createPresence({
      bus: bus!,
      store: createRedisPresenceStore({ redis: redis!, prefix: storePrefix }),
      ...timings,
      logger: {},
    });
    engine.start();
    engines.push(engine);
    return engine;
  };

  const until = async (condition: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('keeps a user on A and B online when A is killed, and decides one offline (seen from C) when B is', async () => {
    const tenantId = 'tenant-kill';
    const c = serverC();
    const events = collect(bus!.subscribe({ tenantId, types: ['presence.*', 'test.marker'] }));
    await events.ready;
    const [a, b] = await Promise.all([
      startPresenceWorker(storePrefix, busPrefix, timings),
      startPresenceWorker(storePrefix, busPrefix, timings),
    ]);
    workers.push(a, b);
    await Promise.all([
      a.command(`connect ${tenantId} agent-7 on-a`),
      b.command(`connect ${tenantId} agent-7 on-b`),
    ]);
    await events.waitFor((message) => eventOf(message)?.type === 'presence.online');

    await a.kill();
    await until(async () => {
      const presence = await c.getPresence(tenantId, 'agent-7');
      return presence.connections.map((member) => member.connectionId).join() === 'on-b';
    }, "A's connection expired");
    const afterA = await c.getPresence(tenantId, 'agent-7');
    expect(afterA.status).toBe('online');
    expect(events.received.map(({ message }) => eventOf(message)?.type)).toEqual([
      'presence.online',
    ]);

    await b.kill();
    const killedAt = Date.now();
    await events.waitFor((message) => eventOf(message)?.type === 'presence.offline');
    const offline = events.received.find(
      ({ message }) => eventOf(message)?.type === 'presence.offline',
    )!;
    const delay = offline.at - killedAt;
    expect(delay).toBeLessThanOrEqual(
      timings.connectionTtlMs + timings.sweepIntervalMs + tolerance,
    );

    // Two more sweeps from two processes, then a marker: nothing was emitted twice.
    const d = serverC();
    await Promise.all([c.sweep(), d.sweep()]);
    await bus!.publish(marker(tenantId, 'kill'));
    await events.waitFor((message) => eventOf(message)?.type === 'test.marker');
    const types = events.received.map(({ message }) => eventOf(message)?.type);
    expect(types.filter((type) => type === 'presence.online')).toHaveLength(1);
    expect(types.filter((type) => type === 'presence.offline')).toHaveLength(1);
    expect(types.at(-2)).toBe('presence.offline');
    console.info(`presence.offline seen from C ${delay} ms after kill -9 of the last server`);
  }, 30_000);

  const textOf = (message: BusMessage): unknown =>
    (eventOf(message)?.data as unknown as UserMessageData | undefined)?.message;
  const isMessage = (message: BusMessage) => eventOf(message)?.type === 'user.message';

  it('delivers 100 messages queued while offline once, in order, to devices connecting on A and B at once; a subscriber dropped mid-delivery resumes without loss', async () => {
    const tenantId = 'tenant-queue';
    const c = serverC();
    for (let index = 1; index <= 100; index += 1) {
      expect((await c.send(tenantId, 'agent-q', `m${index}`)).queued).toBe(true);
    }
    // The user's transport connection: subscribed before presence knows the user.
    const device = bus!.subscribe({ tenantId, types: ['user.message'] });
    const everything = collect(
      bus!.subscribe({ tenantId, types: ['user.message', 'test.marker'] }),
    );
    await Promise.all([device.ready, everything.ready]);
    const [a, b] = await Promise.all([
      startPresenceWorker(storePrefix, busPrefix, timings),
      startPresenceWorker(storePrefix, busPrefix, timings),
    ]);
    workers.push(a, b);
    await Promise.all([
      a.command(`connect ${tenantId} agent-q phone`),
      b.command(`connect ${tenantId} agent-q desk`),
    ]);

    const seen: unknown[] = [];
    let cursor = '';
    for await (const message of device) {
      if (message.type !== 'event') throw new Error(`unexpected ${message.type}`);
      seen.push(textOf(message));
      cursor = message.cursor;
      if (seen.length === 30) break; // the connection drops
    }
    const resumed = bus!.subscribe({ tenantId, types: ['user.message'], after: cursor });
    for await (const message of resumed) {
      if (message.type !== 'event') throw new Error(`unexpected ${message.type}`);
      seen.push(textOf(message));
      if (seen.length === 100) break;
    }
    expect(seen).toEqual(Array.from({ length: 100 }, (_, index) => `m${index + 1}`));

    await c.sweep();
    await bus!.publish(marker(tenantId, 'queue'));
    await everything.waitFor((message) => eventOf(message)?.type === 'test.marker');
    expect(everything.received.filter(({ message }) => isMessage(message))).toHaveLength(100);
  }, 30_000);

  it('loses nothing when the server delivering is killed halfway: another takes over once the claim ran out', async () => {
    const tenantId = 'tenant-crash-delivery';
    const c = serverC();
    for (let index = 1; index <= 100; index += 1) await c.send(tenantId, 'agent-d', index);
    const everything = collect(
      bus!.subscribe({ tenantId, types: ['user.message', 'test.marker'] }),
    );
    await everything.ready;
    const [slow, steady] = await Promise.all([
      startPresenceWorker(storePrefix, busPrefix, { ...timings, slowMessagesMs: 10 }),
      startPresenceWorker(storePrefix, busPrefix, timings),
    ]);
    workers.push(slow, steady);
    // The slow server brings the user online, so it claims the queue.
    await slow.command(`connect ${tenantId} agent-d tab-1`);
    await steady.command(`connect ${tenantId} agent-d tab-2`);
    await everything.waitFor(isMessage, 20);
    await slow.kill();
    const killedAfter = everything.received.filter(({ message }) => isMessage(message)).length;
    expect(killedAfter).toBeLessThan(100);

    await everything.waitFor(isMessage, 100);
    await Promise.all([c.sweep(), c.sweep()]);
    await bus!.publish(marker(tenantId, 'crash'));
    await everything.waitFor((message) => eventOf(message)?.type === 'test.marker');
    const delivered = everything.received
      .filter(({ message }) => isMessage(message))
      .map(({ message }) => textOf(message));
    expect(delivered).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    console.info(`delivery taken over after ${killedAfter} of 100 messages`);
  }, 30_000);

  it('random connects, disconnects and kill -9 across three processes end in the model’s statuses, each transition once', async () => {
    const tenantId = 'tenant-random';
    const c = serverC();
    const events = collect(bus!.subscribe({ tenantId, types: ['presence.*', 'test.marker'] }));
    await events.ready;
    const random = seededRandom(20261121);
    const users = ['u0', 'u1', 'u2'];
    const servers = await Promise.all(
      [0, 1, 2].map(() => startPresenceWorker(storePrefix, busPrefix, timings)),
    );
    workers.push(...servers);
    const alive = new Set([0, 1, 2]);
    /** Connections registered and not disconnected: id → server, user. */
    const open = new Map<string, { server: number; user: string }>();
    let counter = 0;
    for (let step = 0; step < 40 && alive.size > 0; step += 1) {
      const roll = random();
      const liveServers = [...alive];
      if (roll < 0.5 || open.size === 0) {
        const server = liveServers[Math.floor(random() * liveServers.length)]!;
        const user = users[Math.floor(random() * users.length)]!;
        counter += 1;
        await servers[server]!.command(`connect ${tenantId} ${user} r${counter}`);
        open.set(`r${counter}`, { server, user });
      } else if (roll < 0.9) {
        const ids = [...open.keys()];
        const id = ids[Math.floor(random() * ids.length)]!;
        await servers[open.get(id)!.server]!.command(`disconnect ${id}`);
        open.delete(id);
      } else if (alive.size > 1) {
        const server = liveServers[Math.floor(random() * liveServers.length)]!;
        await servers[server]!.kill();
        alive.delete(server);
        for (const [id, connection] of open) if (connection.server === server) open.delete(id);
      }
    }
    // The model: a user is online exactly when a live server holds a connection of theirs.
    const expected = (user: string) =>
      [...open.values()].some((connection) => connection.user === user) ? 'online' : 'offline';
    await until(async () => {
      for (const user of users) {
        if ((await c.getPresence(tenantId, user)).status !== expected(user)) return false;
      }
      return true;
    }, 'the statuses match the model');
    // Then every server dies: everyone goes offline.
    await Promise.all(servers.map((server) => server.kill()));
    await until(async () => (await c.countOnline(tenantId)).online === 0, 'everyone is offline');
    await c.sweep();
    await bus!.publish(marker(tenantId, 'random'));
    await events.waitFor((message) => eventOf(message)?.type === 'test.marker');

    const byUser = new Map<string, CallEvent[]>();
    for (const { message } of events.received) {
      const event = eventOf(message);
      if (!event?.type.startsWith('presence.')) continue;
      byUser.set(event.userId!, [...(byUser.get(event.userId!) ?? []), event]);
    }
    const ids = [...byUser.values()].flat().map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [user, list] of byUser) {
      const presences = list.map((event) => (event.data as unknown as PresenceEventData).presence);
      // Published by several processes: order by version. Dense versions: none missed.
      const versions = presences.map((presence) => presence.version).sort((x, y) => x - y);
      expect(versions, user).toEqual(versions.map((_, index) => versions[0]! + index));
      const statuses = [...presences]
        .sort((x, y) => x.version - y.version)
        .map((presence) => presence.status);
      for (let index = 1; index < statuses.length; index += 1) {
        expect(statuses[index], `${user}: ${statuses.join(' → ')}`).not.toBe(statuses[index - 1]);
      }
      expect(statuses.at(-1), user).toBe('offline');
    }
  }, 60_000);
});

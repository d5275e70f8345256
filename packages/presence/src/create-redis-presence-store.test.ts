import { createMemoryBus } from '@calltrack/bus';
import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import {
  connectTestRedis,
  deleteKeys,
  type RedisServerProcess,
  startRedisServer,
  uniquePrefix,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import type { PresenceOptions } from './presence';
import { conformanceTimings, describePresenceStore } from './testing';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('presence-store');
const t0 = Date.parse('2026-11-21T10:00:00.000Z');

describe.skipIf(!redis)('createRedisPresenceStore', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    redis.disconnect();
  });

  let counter = 0;
  describePresenceStore({ describe, it, afterEach }, 'redis', async () => {
    counter += 1;
    const prefix = `${filePrefix}:${counter}`;
    return {
      store: createRedisPresenceStore({ redis: redis!, prefix }),
      cleanup: () => deleteKeys(redis!, prefix),
    };
  });

  const presenceOn = (
    prefix: string,
    clock: { time: number },
    options: Partial<PresenceOptions> = {},
  ) =>
    createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: redis!, prefix }),
      now: () => clock.time,
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
      ...options,
    });

  it('keeps every key of a tenant under its hash tag, plus one list of tenants', async () => {
    const prefix = `${filePrefix}:layout`;
    const clock = { time: t0 };
    const presence = presenceOn(prefix, clock);
    await presence.send('tenant-a', 'agent-1', { hello: 1 });
    const connection = await presence.connect({
      tenantId: 'tenant-a',
      userId: 'agent-1',
      data: { name: 'Ada' },
    });
    await presence.setState('tenant-a', 'agent-1', 'break');
    await presence.connect({ tenantId: 'tenant-a', userId: 'agent-2' });
    await presence.send('tenant-a', 'agent-3', 'queued');
    await connection.setAway(true);
    await presence.listMembers('tenant-a');
    const keys = await redis!.keys(`${prefix}*`);
    expect(keys).toContain(`${prefix}:tenants`);
    for (const key of keys.filter((key) => key !== `${prefix}:tenants`)) {
      expect(key).toMatch(
        new RegExp(
          `^${prefix}:\\{tenant-a\\}:(u:agent-\\d|q:agent-3|due|online|away|outbox|outbox:t|drains)$`,
        ),
      );
    }
    expect(await redis!.smembers(`${prefix}:tenants`)).toEqual(['tenant-a']);
    expect(await redis!.smembers(`${prefix}:{tenant-a}:online`)).toEqual(['agent-2']);
    expect(await redis!.smembers(`${prefix}:{tenant-a}:away`)).toEqual(['agent-1']);
    expect(await redis!.hget(`${prefix}:{tenant-a}:u:agent-1`, 'st')).toBe('break');
  });

  it('lets an offline user’s record and queue expire, and keeps a connected user’s', async () => {
    const prefix = `${filePrefix}:ttl`;
    const clock = { time: t0 };
    const presence = presenceOn(prefix, clock, {
      offlineRetentionMs: 3_600_000,
      queue: { maxAgeMs: 600_000 },
    });
    const connection = await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(await redis!.pttl(`${prefix}:{tenant-a}:u:u1`)).toBe(-1);
    await connection.disconnect({ immediate: true });
    const ttl = await redis!.pttl(`${prefix}:{tenant-a}:u:u1`);
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    await presence.send('tenant-a', 'u2', 'hi');
    const queueTtl = await redis!.pttl(`${prefix}:{tenant-a}:q:u2`);
    expect(queueTtl).toBeGreaterThan(500_000);
    expect(queueTtl).toBeLessThanOrEqual(600_000);
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(await redis!.pttl(`${prefix}:{tenant-a}:u:u1`)).toBe(-1);
  });

  it('lists each tenant once per instance, and lists it again when Redis lost the list', async () => {
    const prefix = `${filePrefix}:tenants`;
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      now: () => clock.time,
      autoHeartbeat: false,
      logger: {},
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u2' });
    await presence.connect({ tenantId: 'tenant-b', userId: 'u1' });
    expect((await redis!.smembers(`${prefix}:tenants`)).sort()).toEqual(['tenant-a', 'tenant-b']);
    await redis!.del(`${prefix}:tenants`);
    expect((await store.listTenants()).sort()).toEqual(['tenant-a', 'tenant-b']);
    expect((await redis!.smembers(`${prefix}:tenants`)).sort()).toEqual(['tenant-a', 'tenant-b']);
    // Another process (another instance) sees them too.
    const other = createRedisPresenceStore({ redis: redis!, prefix });
    expect((await other.listTenants()).sort()).toEqual(['tenant-a', 'tenant-b']);
  });

  it('lists a tenant before the step that creates its first user: a failed listing stores nothing', async () => {
    const prefix = `${filePrefix}:tenants-first`;
    let failListing = true;
    // The connection drops on the listing (or the process dies right after it).
    const flaky = new Proxy(redis!, {
      get(target, property, receiver) {
        if (property === 'sadd' && failListing) {
          return async () => {
            failListing = false;
            throw new Error('Connection is closed.');
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Redis;
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: flaky, prefix }),
      now: () => t0,
      autoHeartbeat: false,
      logger: {},
    });
    await expect(presence.connect({ tenantId: 'tenant-x', userId: 'u1' })).rejects.toThrow(
      /closed/,
    );
    // Nothing stored: no user no sweep would ever visit.
    expect(await redis!.exists(`${prefix}:{tenant-x}:u:u1`)).toBe(0);
    await presence.connect({ tenantId: 'tenant-x', userId: 'u1' });
    expect(await redis!.smembers(`${prefix}:tenants`)).toEqual(['tenant-x']);
  });

  it('numbers a user made again after its record expired above the expired record', async () => {
    const prefix = `${filePrefix}:forgotten`;
    const clock = { time: t0 };
    const accepted: CallEvent[] = [];
    const presence = createPresence({
      bus: {
        publish: async (event) => {
          accepted.push(event);
          return { duplicate: false };
        },
      },
      store: createRedisPresenceStore({ redis: redis!, prefix }),
      now: () => clock.time,
      autoHeartbeat: false,
      logger: {},
    });
    const first = await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await first.disconnect({ immediate: true });
    // What the record's expiry (offlineRetentionMs, on Redis's clock) does, a day later.
    await redis!.del(`${prefix}:{tenant-a}:u:u1`);
    clock.time += 86_400_000;
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    const versions = accepted.map(
      (event) => (event.data as unknown as { presence: { version: number } }).presence.version,
    );
    expect(accepted.map((event) => event.type)).toEqual([
      'presence.online',
      'presence.offline',
      'presence.online',
    ]);
    expect(versions[2]).toBeGreaterThan(versions[1]!);
  });

  it('never lists a member with a status not asked for, whatever changes while it reads', async () => {
    const prefix = `${filePrefix}:list-atomic`;
    const clock = { time: t0 };
    const presence = presenceOn(prefix, clock);
    const u1 = await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u2' });
    const u3 = await presence.connect({ tenantId: 'tenant-a', userId: 'u3' });
    await u3.setAway(true);
    // Another process changes two users right after the store's first reply comes back: u1
    // leaves, u3 comes back from away.
    let change: (() => Promise<void>) | undefined = async () => {
      await u1.disconnect({ immediate: true });
      await u3.setAway(false);
    };
    const racing = new Proxy(redis!, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (!['smembers', 'evalsha', 'eval'].includes(String(property))) return value.bind(target);
        return async (...args: unknown[]) => {
          const reply = await value.apply(target, args);
          const pending = change;
          change = undefined;
          await pending?.();
          return reply;
        };
      },
    }) as Redis;
    const store = createRedisPresenceStore({ redis: racing, prefix });
    const listed = (await store.listMembers('tenant-a', ['online', 'away'], 100)).map((record) => [
      record.userId,
      record.status,
    ]);
    expect(change).toBeUndefined(); // the change did land while the store was reading
    const before = [
      ['u1', 'online'],
      ['u2', 'online'],
      ['u3', 'away'],
    ];
    const after = [
      ['u2', 'online'],
      ['u3', 'online'],
    ];
    expect([before, after]).toContainEqual(listed);
    // And as of now:
    expect(
      (await presence.listMembers('tenant-a')).map((member) => [member.userId, member.status]),
    ).toEqual(after);
  });

  it('refuses a bad prefix, a missing client and a malformed tenant', async () => {
    expect(() => createRedisPresenceStore({ redis: redis!, prefix: 'a{b}' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createRedisPresenceStore({ redis: undefined as unknown as Redis })).toThrow(
      /needs \{ redis \}/,
    );
    const store = createRedisPresenceStore({ redis: redis!, prefix: `${filePrefix}:bad` });
    await expect(store.countMembers('a b')).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(store.listTenants()).resolves.toEqual([]);
  });
});

// A redis-server of its own: MONITOR must see only this file's commands.
const probe = await connectTestRedis();
probe?.disconnect();

describe.skipIf(!probe)('createRedisPresenceStore round trips', () => {
  let server: RedisServerProcess | undefined;
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server?.stop();
  });

  it('heartbeats a connection set away of an away user on the fast path, like an active one', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url);
    const watcher = new Redis(server.url);
    clients.push(client, watcher);
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: client }),
      now: () => clock.time,
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
    });
    const active = await presence.connect({ tenantId: 'tenant-a', userId: 'active' });
    const away = await presence.connect({ tenantId: 'tenant-a', userId: 'away' });
    await away.setAway(true);
    await active.heartbeat(); // loads the heartbeat script (EVAL after NOSCRIPT)
    // Every command, the script's own as `lua:<name>`.
    const commands: string[] = [];
    const monitor = await watcher.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      commands.push(`${source === 'lua' ? 'lua:' : ''}${String(args[0]).toLowerCase()}`);
    });
    const commandsOf = async (step: () => Promise<void>): Promise<string[]> => {
      await client.ping('marker');
      while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
      commands.length = 0;
      await step();
      await client.ping('marker');
      while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
      return commands.splice(0).slice(0, -1);
    };
    clock.time += conformanceTimings.heartbeatIntervalMs;
    const ofActive = await commandsOf(() => active.heartbeat());
    const ofAway = await commandsOf(() => away.heartbeat());
    expect(ofActive).toEqual(['evalsha', 'lua:hmget', 'lua:hset']);
    expect(ofAway).toEqual(ofActive);
    await monitor.disconnect();
    // The same as the full rules: still away, refreshed, the state known.
    const user = await presence.getPresence('tenant-a', 'away');
    expect(user.status).toBe('away');
    expect(user.connections[0]?.lastSeenAt).toBe(new Date(clock.time).toISOString());
    expect(
      await client.hget('calltrack:presence:{tenant-a}:u:away', `c:${away.connectionId}`),
    ).toBe(
      `${clock.time}|${clock.time + conformanceTimings.connectionTtlMs}|${clock.time + conformanceTimings.awayAfterMs}|${t0}|a`,
    );
  });

  it('makes one round trip (one EVALSHA) per heartbeat, one per batch of heartbeats, and never KEYS or SCAN', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url);
    const watcher = new Redis(server.url);
    clients.push(client, watcher);
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: client }),
      now: () => clock.time,
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
    });
    const connections = [];
    for (let index = 0; index < 20; index += 1) {
      connections.push(
        await presence.connect({ tenantId: 'tenant-a', userId: `agent-${index % 10}` }),
      );
    }
    await connections[0]!.heartbeat(); // loads the heartbeat script (EVAL after NOSCRIPT)
    const commands: string[] = [];
    const monitor = await watcher.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') commands.push(String(args[0]).toLowerCase());
    });
    // MONITOR starts with the next command: wait until it shows one of ours.
    await client.ping('monitor-started');
    while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
    commands.length = 0;

    for (const connection of connections) await connection.heartbeat();
    await client.ping('heartbeats-done');
    while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(commands).toEqual([...Array(20).fill('evalsha'), 'ping']);

    // Heartbeats made together (one bucket of the wheel) share one script per tenant.
    commands.length = 0;
    await Promise.all(connections.map((connection) => connection.heartbeat()));
    await client.ping('batch-done');
    while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(commands).toEqual(['evalsha', 'ping']);

    commands.length = 0;
    clock.time += conformanceTimings.awayAfterMs;
    await presence.sweep();
    await presence.countOnline('tenant-a');
    await presence.listMembers('tenant-a');
    await presence.getPresence('tenant-a', 'agent-1');
    await presence.send('tenant-a', 'agent-1', 'hi');
    for (const connection of connections) await connection.disconnect();
    await client.ping('done');
    while (!commands.includes('ping')) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(
      commands.filter((name) => ['keys', 'scan', 'hscan', 'sscan', 'zscan'].includes(name)),
    ).toEqual([]);
    await monitor.disconnect();
  });
});

import { createMemoryBus } from '@calltrack/bus';
import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import {
  connectTestRedis,
  deleteKeys,
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
  uniquePrefix,
} from '@calltrack/test-utils';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import {
  conformanceSettings,
  conformanceTimings,
  describePresenceStore,
} from './describe-presence-store';
import type { PresenceConnection, PresenceOptions } from './presence';
import { presenceEventId } from './presence-event-id';

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
  describePresenceStore(
    { describe, it, afterEach },
    {
      name: 'redis',
      createStore: async () => {
        counter += 1;
        const prefix = `${filePrefix}:${counter}`;
        return {
          store: createRedisPresenceStore({ redis: redis!, prefix }),
          cleanup: () => deleteKeys(redis!, prefix),
        };
      },
    },
  );

  const presenceOn = (
    prefix: string,
    clock: { time: number },
    options: Partial<PresenceOptions> = {},
  ) =>
    createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: redis!, prefix }),
      clock: { now: () => clock.time },
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
          `^${prefix}:\\{tenant-a\\}:(u:agent-\\d|q:agent-3|due|online|away|outbox|outbox:t|drains|listing)$`,
        ),
      );
    }
    // The tenants hash: each tenant's listing number, and the last number given.
    expect((await redis!.hkeys(`${prefix}:tenants`)).sort()).toEqual(['tenant-a', '{seq}']);
    expect(await redis!.smembers(`${prefix}:{tenant-a}:online`)).toEqual(['agent-2']);
    expect(await redis!.smembers(`${prefix}:{tenant-a}:away`)).toEqual(['agent-1']);
    expect(await redis!.hget(`${prefix}:{tenant-a}:u:agent-1`, 'st')).toBe('break');
  });

  it('builds the event ids the engine builds, a long user id shortened the same way', async () => {
    const prefix = `${filePrefix}:ids`;
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    const settings = conformanceSettings();
    for (const userId of ['u1', 'agent-'.padEnd(161, 'x'), 'agent-'.padEnd(256, 'y')]) {
      const { transition } = await store.apply({
        kind: 'connect',
        tenantId: 'tenant-a',
        userId,
        connectionId: 'c1',
        at: t0,
        settings,
      });
      expect(transition?.eventId).toBe(presenceEventId(userId, t0, t0 + 1));
    }
  });

  it('builds the event ids the memory store builds for non-ASCII user ids of 1–200 characters: lengths in UTF-16 units, as the engine counts', async () => {
    const prefix = `${filePrefix}:utf16`;
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    const settings = conformanceSettings();
    let tenants = 0;
    const eventIdsOf = async (userId: string) => {
      tenants += 1;
      const operation = {
        kind: 'connect',
        tenantId: `tenant-${tenants}`,
        userId,
        connectionId: 'c1',
        at: t0,
        settings,
      } as const;
      const memory = await createMemoryPresenceStore().apply(operation);
      const onRedis = await store.apply(operation);
      return [onRedis.transition?.eventId, memory.transition?.eventId];
    };
    // Characters of one, two, three and four UTF-8 bytes (the last two UTF-16 units).
    const character = fc.constantFrom('a', 'é', 'ж', '中', '☃', '😀', '𝄞');
    const nonAsciiId = fc
      .array(character, { minLength: 1, maxLength: 200 })
      .map((characters) => characters.join(''))
      .filter((id) => id.length <= 256 && id !== 'a'.repeat(id.length));
    // Where bytes and units disagree: 81 two-byte characters are 162 bytes, 81 units.
    for (const userId of [
      'é'.repeat(81),
      'é'.repeat(160),
      'é'.repeat(161),
      '中'.repeat(160),
      `${'a'.repeat(119)}😀${'a'.repeat(60)}`,
      `${'é'.repeat(118)}😀😀${'é'.repeat(60)}`,
    ]) {
      const [onRedis, memory] = await eventIdsOf(userId);
      expect(onRedis).toBe(memory);
      expect(onRedis).toBe(presenceEventId(userId, t0, t0 + 1));
    }
    await fc.assert(
      fc.asyncProperty(nonAsciiId, async (userId) => {
        const [onRedis, memory] = await eventIdsOf(userId);
        expect(onRedis).toBeDefined();
        expect(onRedis).toBe(memory);
      }),
      { numRuns: 300 },
    );
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

  /** The tenants the sweeper walks, as Redis holds them. */
  const listedIn = async (prefix: string): Promise<string[]> =>
    (await redis!.hkeys(`${prefix}:tenants`)).filter((field) => field !== '{seq}').sort();

  it('lists each tenant once per instance, and lists it again when Redis lost the list', async () => {
    const prefix = `${filePrefix}:tenants`;
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock: { now: () => clock.time },
      autoHeartbeat: false,
      logger: {},
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u2' });
    await presence.connect({ tenantId: 'tenant-b', userId: 'u1' });
    expect(await listedIn(prefix)).toEqual(['tenant-a', 'tenant-b']);
    await redis!.del(`${prefix}:tenants`);
    expect((await store.listTenants()).sort()).toEqual(['tenant-a', 'tenant-b']);
    expect(await listedIn(prefix)).toEqual(['tenant-a', 'tenant-b']);
    // Another process (another instance) sees them too.
    const other = createRedisPresenceStore({ redis: redis!, prefix });
    expect((await other.listTenants()).sort()).toEqual(['tenant-a', 'tenant-b']);
  });

  it('walks a large tenants hash in pages of about the size asked for, each tenant once', async () => {
    const prefix = `${filePrefix}:tenant-pages`;
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    const settings = conformanceSettings();
    // More tenants than Redis keeps in a compact hash (128 by default), which it scans whole.
    const [, compact] = (await redis!.config('GET', 'hash-max-listpack-entries')) as string[];
    const count = Math.max(300, Number(compact ?? 128) + 200);
    const tenants = Array.from({ length: count }, (_, index) => `tenant-${index}`);
    await Promise.all(
      tenants.map((tenantId) =>
        store.apply({ kind: 'state', tenantId, userId: 'u1', state: 'away', at: t0, settings }),
      ),
    );
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listTenantPage(cursor, 10);
      pages.push(page.tenants);
      cursor = page.cursor;
    } while (cursor !== undefined);
    const seen = pages.flat();
    expect(seen.sort()).toEqual([...tenants].sort());
    expect(pages.length).toBeGreaterThan(count / 40);
    expect(Math.max(...pages.map((page) => page.length))).toBeLessThanOrEqual(40);
  });

  it('lists a tenant before the step that creates its first user: a failed listing stores nothing', async () => {
    const prefix = `${filePrefix}:tenants-first`;
    let failListing = true;
    // The connection drops on the listing (or the process dies right after it).
    const flaky = new Proxy(redis!, {
      get(target, property, receiver) {
        if (property === 'evalsha' && failListing) {
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
      clock: { now: () => t0 },
      autoHeartbeat: false,
      logger: {},
    });
    await expect(presence.connect({ tenantId: 'tenant-x', userId: 'u1' })).rejects.toThrow(
      /closed/,
    );
    // Nothing stored: no user no sweep would ever visit.
    expect(await redis!.exists(`${prefix}:{tenant-x}:u:u1`)).toBe(0);
    await presence.connect({ tenantId: 'tenant-x', userId: 'u1' });
    expect(await listedIn(prefix)).toEqual(['tenant-x']);
  });

  /** Waits until every transition of the tenant was confirmed (confirmations run in the background). */
  const confirmed = async (prefix: string, tenantId: string): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while ((await redis!.exists(`${prefix}:{${tenantId}}:outbox`)) > 0) {
      if (Date.now() > deadline) throw new Error(`${tenantId}'s outbox was not confirmed`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  it('unlists a tenant at the first sweep after everyone left, keeping its users’ records', async () => {
    const prefix = `${filePrefix}:unlist`;
    const clock = { time: t0 };
    const [a, b] = [presenceOn(prefix, clock), presenceOn(prefix, clock)];
    const connection = await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await a.connect({ tenantId: 'tenant-b', userId: 'u2' });
    await a.setState('tenant-a', 'u1', 'break');
    await connection.disconnect({ immediate: true });
    await confirmed(prefix, 'tenant-a');
    await b.sweep();
    expect(await listedIn(prefix)).toEqual(['tenant-b']);
    // Reads write nothing and list nothing; the record is kept for the retention.
    expect(await b.getPresence('tenant-a', 'u1')).toMatchObject({
      status: 'offline',
      state: 'break',
    });
    expect(await b.countOnline('tenant-a')).toEqual({ online: 0, away: 0 });
    expect(await listedIn(prefix)).toEqual(['tenant-b']);
    // The process that listed it before lists it again when it is used.
    await a.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(await listedIn(prefix)).toEqual(['tenant-a', 'tenant-b']);
    await a.sweep();
    await b.sweep();
    expect(await listedIn(prefix)).toEqual(['tenant-a', 'tenant-b']);
  });

  it('lists a tenant again when an operation listed before an unlisting lands after it', async () => {
    const prefix = `${filePrefix}:unlist-race`;
    const clock = { time: t0 };
    // The operation of the user `late` waits at the gate while another process unlists.
    let gate: { reached: () => void; opened: Promise<void> } | undefined;
    const gated = new Proxy(redis!, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'evalsha') return value.bind(target);
        return async (...args: unknown[]) => {
          const held = gate;
          if (held && String(args[2]).endsWith(':u:late')) {
            gate = undefined;
            held.reached();
            await held.opened;
          }
          return value.apply(target, args);
        };
      },
    }) as Redis;
    const sweeper = presenceOn(prefix, clock);
    const race = async (tenantId: string, listed: 'before' | 'just before') => {
      const creator = presenceOn(prefix, clock, {
        store: createRedisPresenceStore({ redis: gated, prefix }),
      });
      // The tenant is listed and then empty; the creator process listed it long before the
      // unlisting, or just before it (its first operation there).
      const first = await (listed === 'before' ? creator : sweeper).connect({
        tenantId,
        userId: 'u1',
      });
      await first.disconnect({ immediate: true });
      await confirmed(prefix, tenantId);
      let open = () => {};
      const reached = new Promise<void>((resolve) => {
        gate = { reached: resolve, opened: new Promise<void>((release) => (open = release)) };
      });
      const late = creator.connect({ tenantId, userId: 'late' });
      await reached;
      await sweeper.sweep();
      expect(await listedIn(prefix)).not.toContain(tenantId);
      open();
      await late;
      expect(await listedIn(prefix)).toContain(tenantId);
      await sweeper.sweep();
      expect(await listedIn(prefix)).toContain(tenantId);
      expect(await sweeper.countOnline(tenantId)).toEqual({ online: 1, away: 0 });
    };
    await race('tenant-a', 'before');
    await race('tenant-b', 'just before');
  });

  it('never leaves a tenant in use unlisted, whatever connects, leaves and sweeps race', async () => {
    const prefix = `${filePrefix}:unlist-storm`;
    const clock = { time: t0 };
    // Four processes, each with its own connection to Redis, so their commands interleave: two
    // connect and leave, two sweep. (A process that sweeps also lists again the tenants it
    // listed that Redis lost; kept apart, nothing but the unlisting protocol keeps them listed.)
    const clients = [0, 1, 2, 3].map(() => redis!.duplicate());
    const processes = clients.map((client) =>
      presenceOn(prefix, clock, { store: createRedisPresenceStore({ redis: client, prefix }) }),
    );
    const creators = [0, 1];
    const sweepers = [2, 3];
    const tenants = ['tenant-a', 'tenant-b'];
    const users = ['u1', 'u2'];
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return (seed >>> 16) % n; // the high bits: an LCG's low bits repeat with a short period
    };
    /** Starts a step after a few round trips of its process: steps land between others' steps. */
    const later = async (index: number, step: () => Promise<unknown>): Promise<unknown> => {
      for (let trip = random(5); trip > 0; trip -= 1) await clients[index]!.ping();
      return step();
    };
    const open = new Map<string, PresenceConnection>();
    let unlisted = 0;
    try {
      for (let round = 0; round < 200; round += 1) {
        const work: Promise<unknown>[] = [];
        for (const tenantId of tenants) {
          for (const userId of users) {
            if (random(2) === 0) continue;
            const key = `${tenantId}/${userId}`;
            const connection = open.get(key);
            const index = creators[random(creators.length)]!;
            if (connection) {
              open.delete(key);
              work.push(later(index, () => connection.disconnect({ immediate: true })));
            } else {
              work.push(
                later(index, () => processes[index]!.connect({ tenantId, userId })).then((handle) =>
                  open.set(key, handle as PresenceConnection),
                ),
              );
            }
          }
        }
        for (const index of sweepers) {
          const engine = processes[index]!;
          work.push(
            later(index, () => engine.sweep()),
            later(index, () => engine.sweep()),
          );
        }
        await Promise.all(work);
        const listed = await listedIn(prefix);
        for (const tenantId of tenants) {
          const inUse = (await redis!.exists(`${prefix}:{${tenantId}}:due`)) > 0;
          if (inUse) expect(listed, `round ${round}`).toContain(tenantId);
          if (!listed.includes(tenantId)) unlisted += 1;
        }
      }
      expect(unlisted).toBeGreaterThan(20); // the race was run: tenants did get unlisted
      // Everyone leaves: once every transition is published, no tenant is walked.
      await Promise.all(
        [...open.values()].map((connection) => connection.disconnect({ immediate: true })),
      );
      for (const tenantId of tenants) await confirmed(prefix, tenantId);
      await processes[sweepers[0]!]!.sweep();
      expect(await listedIn(prefix)).toEqual([]);
    } finally {
      for (const client of clients) client.disconnect();
    }
  }, 30_000);

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
      clock: { now: () => clock.time },
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

  it('leaves a connection closed while the heartbeat that found it gone registers it again', async () => {
    const prefix = `${filePrefix}:closed-while-registering`;
    const clock = { time: t0 };
    const store = createRedisPresenceStore({ redis: redis!, prefix });
    let closeSocket: (() => void) | undefined;
    const paused = presenceOn(prefix, clock, {
      store: {
        ...store,
        apply(operation) {
          const applying = store.apply(operation);
          // The socket closes once the connection's register has gone to Redis: that register
          // needs a second round trip (the tenant was unlisted meanwhile), which the disconnect
          // overtakes.
          if (operation.kind === 'connect' && closeSocket) {
            closeSocket();
            closeSocket = undefined;
          }
          return applying;
        },
      },
    });
    const sweeper = presenceOn(prefix, clock);
    const connection = await paused.connect({ tenantId: 'tenant-a', userId: 'u1' });
    // The process pauses past the TTL: another one sweeps the connection away and, nothing left
    // in the tenant, unlists it.
    clock.time += conformanceTimings.connectionTtlMs;
    await sweeper.sweep();
    await sweeper.sweep();
    expect(await redis!.hexists(`${prefix}:tenants`, 'tenant-a')).toBe(0);

    let closing: Promise<void> | undefined;
    closeSocket = () => {
      closing = connection.disconnect();
    };
    await connection.heartbeat(); // the connection is gone: registered again
    await closing;
    expect(connection.closed).toBe(true);

    // It leaves with the leave delay, as a connection disconnected at that time does; it was
    // left registered, with nobody heartbeating it, online until the TTL.
    clock.time += conformanceTimings.leaveDelayMs;
    await sweeper.sweep();
    const presence = await sweeper.getPresence('tenant-a', 'u1');
    expect(presence.status).toBe('offline');
    expect(presence.connections).toEqual([]);
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

  it('fills the list up to the limit when users chosen for it left while it read', async () => {
    const prefix = `${filePrefix}:list-refill`;
    const clock = { time: t0 };
    const presence = presenceOn(prefix, clock);
    const [u1] = await Promise.all(
      ['u1', 'u2', 'u3', 'u4', 'u5'].map((userId) =>
        presence.connect({ tenantId: 'tenant-a', userId }),
      ),
    );
    // Another process ends u1, the lowest id, right after the store read the status sets.
    let change: (() => Promise<void>) | undefined = () => u1!.disconnect({ immediate: true });
    const racing = new Proxy(redis!, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'pipeline') return value.bind(target);
        return () => {
          const pipeline = target.pipeline();
          const exec = pipeline.exec.bind(pipeline);
          return Object.assign(pipeline, {
            exec: async () => {
              const replies = await exec();
              const pending = change;
              change = undefined;
              await pending?.();
              return replies;
            },
          });
        };
      },
    }) as Redis;
    const store = createRedisPresenceStore({ redis: racing, prefix });
    const listed = await store.listMembers('tenant-a', ['online'], 3);
    expect(change).toBeUndefined(); // the change did land while the store was reading
    // Three, as asked: a list cut short while more users are online reads as complete (the
    // transports ask for one more than they send, and say a shorter list is whole).
    expect(listed.map((record) => record.userId)).toEqual(['u2', 'u3', 'u4']);
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
  let own: OwnRedisServer = {};
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await stopOwnRedisServer(own);
  });

  it('heartbeats a connection set away of an away user on the fast path, like an active one', async () => {
    own = await startOwnRedisServer();
    const { server, admin: watcher } = own;
    if (!server || !watcher) return;
    const client = new Redis(server.url);
    clients.push(client);
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: client }),
      clock: { now: () => clock.time },
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
    own = await startOwnRedisServer();
    const { server, admin: watcher } = own;
    if (!server || !watcher) return;
    const client = new Redis(server.url);
    clients.push(client);
    const clock = { time: t0 };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis: client }),
      clock: { now: () => clock.time },
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

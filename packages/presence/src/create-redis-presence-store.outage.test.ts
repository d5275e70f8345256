import { createMemoryBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { connectTestRedis, type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { PresenceStore } from './presence-store';

/** Resolves on the client's next `ready` (an `error` event does not reject it). */
function nextReady(client: Redis): Promise<void> {
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/**
 * A store that counts its calls (by method) and the connections heartbeated (one call may carry
 * a batch), and tells when none is running: what a call's answer starts (a connection registered
 * again, a confirmation) starts before the next look, so `settled()` waits for it too.
 */
function tracked(inner: PresenceStore) {
  const calls: Record<string, number> = {};
  let heartbeated = 0;
  let running = 0;
  const store = { ...inner } as Record<string, unknown>;
  for (const [name, method] of Object.entries(inner)) {
    if (typeof method !== 'function') continue;
    store[name] = async (...args: unknown[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      if (name === 'heartbeat') heartbeated += (args[1] as unknown[]).length;
      if (name === 'apply' && (args[0] as { kind: string }).kind === 'heartbeat') heartbeated += 1;
      running += 1;
      try {
        return await method.apply(inner, args);
      } finally {
        running -= 1;
      }
    };
  }
  const settled = async (): Promise<void> => {
    do await new Promise((resolve) => setTimeout(resolve, 1));
    while (running > 0);
  };
  return { store: store as unknown as PresenceStore, calls, beats: () => heartbeated, settled };
}

// These tests start their own redis-server (they kill it). The probe decides skip-or-fail like
// every Redis suite.
const probe = await connectTestRedis();
probe?.disconnect();

describe.skipIf(!probe)('Redis presence through a Redis restart', () => {
  let server: RedisServerProcess | undefined;
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server?.stop();
  });

  it('rebuilds from live connections after Redis comes back empty, counting what was repeated and lost', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    const accepted: CallEvent[] = [];
    const inner = createMemoryBus();
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const presence = createPresence({
      bus: {
        async publish(event) {
          const result = await inner.publish(event);
          if (!result.duplicate) accepted.push(event);
          return result;
        },
      },
      store: createRedisPresenceStore({ redis: client }),
      clock: { now: () => now },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
    });
    const [u1, u2] = await Promise.all([
      presence.connect({ tenantId: 'tenant-a', userId: 'u1', data: { desk: 1 } }),
      presence.connect({ tenantId: 'tenant-a', userId: 'u2' }),
      presence.connect({ tenantId: 'tenant-a', userId: 'u3' }), // its process dies in the outage
    ]);
    await presence.send('tenant-a', 'offline-user', 'kept only in Redis');
    const typesOf = (userId: string) =>
      accepted.filter((event) => event.userId === userId).map((event) => event.type);

    await server.kill();
    now += conformanceTimings.heartbeatIntervalMs;
    await expect(u1!.heartbeat()).rejects.toThrow();
    await expect(presence.connect({ tenantId: 'tenant-a', userId: 'u4' })).rejects.toThrow();
    await expect(presence.send('tenant-a', 'u1', 'during')).rejects.toThrow();

    const ready = nextReady(client);
    await server.restart();
    await ready;
    now += conformanceTimings.heartbeatIntervalMs;
    // The next heartbeat of each live connection registers it again.
    await u1!.heartbeat();
    await u2!.heartbeat();

    // Repeated: one presence.online per user still connected (a new incarnation, new ids).
    expect(typesOf('u1')).toEqual(['presence.online', 'presence.online']);
    expect(typesOf('u2')).toEqual(['presence.online', 'presence.online']);
    const ids = accepted.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Lost: u3 left during the outage and no presence.offline says so (readers reload on the
    // bus's reset); the message queued for an offline user is gone with Redis's data.
    expect(typesOf('u3')).toEqual(['presence.online']);
    expect((await presence.listMembers('tenant-a')).map((member) => member.userId)).toEqual([
      'u1',
      'u2',
    ]);
    expect(await presence.countOnline('tenant-a')).toEqual({ online: 2, away: 0 });
    expect((await presence.getPresence('tenant-a', 'u1')).connections[0]?.data).toEqual({
      desk: 1,
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'offline-user' });
    expect(typesOf('offline-user')).toEqual(['presence.online']);
  });

  it('gives a user who keeps heartbeating the state they last set back after Redis comes back empty', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    const accepted: CallEvent[] = [];
    const inner = createMemoryBus();
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const store = createRedisPresenceStore({ redis: client });
    const engine = () =>
      createPresence({
        bus: {
          async publish(event) {
            const result = await inner.publish(event);
            if (!result.duplicate) accepted.push(event);
            return result;
          },
        },
        store,
        clock: { now: () => now },
        ...conformanceTimings,
        autoHeartbeat: false,
        logger: {},
      });
    // The sockets live on `a`; the states are set through an API served by `b`.
    const [a, b] = [engine(), engine()];
    const onBreak = await a.connect({ tenantId: 'tenant-a', userId: 'on-break' });
    const neverSet = await a.connect({ tenantId: 'tenant-a', userId: 'never-set' });
    const setLate = await a.connect({ tenantId: 'tenant-a', userId: 'set-late' });
    const single = await a.connect({ tenantId: 'tenant-a', userId: 'single' });
    await b.setState('tenant-a', 'on-break', 'break');
    await b.setState('tenant-a', 'single', 'wrap-up');
    now += conformanceTimings.heartbeatIntervalMs;
    // Heartbeats made together (one store call) and one alone: both bring the state back.
    await Promise.all([onBreak.heartbeat(), neverSet.heartbeat(), setLate.heartbeat()]);
    await single.heartbeat();
    // Set after the connection's last heartbeat before the loss: the connection cannot know it.
    await b.setState('tenant-a', 'set-late', 'lunch');

    await server.kill();
    const ready = nextReady(client);
    await server.restart();
    await ready;
    now += conformanceTimings.heartbeatIntervalMs;
    await Promise.all([onBreak.heartbeat(), neverSet.heartbeat(), setLate.heartbeat()]);
    await single.heartbeat();

    const stateOf = async (userId: string) => (await b.getPresence('tenant-a', userId)).state;
    expect(await stateOf('on-break')).toBe('break');
    expect(await stateOf('single')).toBe('wrap-up');
    expect(await stateOf('never-set')).toBe('available');
    expect(await stateOf('set-late')).toBe('available'); // lost: see the README
    // The presence.online of the new record already says so.
    const lastOnline = accepted.filter(
      (event) => event.userId === 'on-break' && event.type === 'presence.online',
    );
    expect(lastOnline).toHaveLength(2);
    expect((lastOnline[1]!.data as unknown as { presence: { state: string } }).presence.state).toBe(
      'break',
    );
  });

  it('logs failing sweeps once per outage, and once when they work again', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    // The sweeper's timer is the test's: each sweep runs when the test moves it, and ends before
    // the next (a loaded machine delays it, it cannot skip or double it).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, calls, settled } = tracked(createRedisPresenceStore({ redis: client }));
    const logged: { level: string; message: string; context?: Record<string, unknown> }[] = [];
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const sweepIntervalMs = 20;
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock: { now: () => now },
      ...conformanceTimings,
      sweepIntervalMs,
      autoHeartbeat: false,
      logger: {
        warn: (message, context) => logged.push({ level: 'warn', message, context }),
        error: (message, context) => logged.push({ level: 'error', message, context }),
      },
    });
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    presence.start();
    const sweeps = async (count: number) => {
      for (let sweep = 0; sweep < count; sweep += 1) {
        vi.advanceTimersByTime(sweepIntervalMs);
        await settled();
      }
    };
    try {
      await sweeps(2);
      expect(calls.listTenants).toBe(2);
      expect(logged).toEqual([]);

      await server.kill();
      now += 1_000;
      await sweeps(6);
      now += 1_000;
      await sweeps(6);
      expect(calls.listTenants).toBe(14);
      expect(logged).toEqual([
        {
          level: 'error',
          message: 'Sweeps fail: Redis cannot be reached; reported once, until one works again.',
          context: { error: expect.any(Error) },
        },
      ]);

      const ready = nextReady(client);
      await server.restart();
      await ready;
      await sweeps(1);
      expect(logged.slice(1)).toEqual([
        {
          level: 'warn',
          message: 'Sweeps work again after 1.0 s and 12 failures (only the first was reported).',
          context: undefined,
        },
      ]);
    } finally {
      vi.useRealTimers();
      await presence.stop();
    }
    // Real time: Redis starts twice, and each failing call waits for the client's retries.
  }, 30_000);

  it('logs failing background heartbeats once per outage, and once when they work again', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    clients.push(client);
    // The wheel's timer is the test's: a turn of the wheel heartbeats every connection once, and
    // the test waits for those heartbeats to end before the next (none is skipped or doubled on a
    // loaded machine, and none fails while Redis is starting).
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, beats, settled } = tracked(createRedisPresenceStore({ redis: client }));
    const logged: { level: string; message: string; context?: Record<string, unknown> }[] = [];
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const heartbeatIntervalMs = 250;
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock: { now: () => now },
      ...conformanceTimings,
      // A tick every 10 ms, each connection's turn every 250 ms.
      heartbeatIntervalMs,
      sweepIntervalMs: 60_000,
      logger: {
        warn: (message, context) => logged.push({ level: 'warn', message, context }),
        error: (message, context) => logged.push({ level: 'error', message, context }),
      },
    });
    presence.start();
    await Promise.all(
      ['u1', 'u2', 'u3'].map((userId) => presence.connect({ tenantId: 'tenant-a', userId })),
    );
    /** Whole turns of the wheel, tick by tick, each tick's heartbeats ended before the next. */
    const turns = async (count: number) => {
      for (let tick = 0; tick < (count * heartbeatIntervalMs) / 10; tick += 1) {
        vi.advanceTimersByTime(10);
        await settled();
      }
    };
    try {
      await turns(1);
      expect(beats()).toBe(3);
      expect(logged).toEqual([]);

      await server.kill();
      now += 1_000;
      await turns(4);
      expect(beats()).toBe(15);
      expect(logged).toEqual([
        {
          level: 'error',
          message:
            'Heartbeats fail: Redis cannot be reached; reported once, until one works again.',
          context: { error: expect.any(Error) },
        },
      ]);

      now += 1_000;
      const ready = nextReady(client);
      await server.restart();
      await ready;
      // Past two intervals without a failure: the first heartbeat that works ends the outage.
      now += 1_000;
      await turns(1);
      expect(beats()).toBe(18);
      expect(logged.slice(1)).toEqual([
        {
          level: 'warn',
          message:
            'Heartbeats work again after 2.0 s and 12 failures (only the first was reported).',
          context: undefined,
        },
      ]);
    } finally {
      vi.useRealTimers();
      await presence.stop();
    }
    // Real time: Redis starts twice, and each failing call waits for the client's retries.
  }, 30_000);

  it('keeps at most a TTL of background heartbeats waiting per connection: a Redis that does not answer piles no more up', async () => {
    server = await startRedisServer();
    const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    const admin = new Redis(server.url);
    for (const each of [client, admin]) {
      each.on('error', () => {});
      clients.push(each);
    }
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, beats, settled } = tracked(createRedisPresenceStore({ redis: client }));
    const logged: string[] = [];
    const heartbeatIntervalMs = 250;
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock: { now: () => Date.parse('2026-11-21T10:00:00.000Z') },
      ...conformanceTimings,
      // A TTL of 2.4 turns: a heartbeat sent 3 turns ago cannot keep a connection alive.
      heartbeatIntervalMs,
      awayAfterMs: 400,
      connectionTtlMs: 600,
      sweepIntervalMs: 60_000,
      logger: { warn: (message) => logged.push(message), error: (message) => logged.push(message) },
    });
    presence.start();
    await Promise.all(
      ['u1', 'u2', 'u3'].map((userId) => presence.connect({ tenantId: 'tenant-a', userId })),
    );
    /** Whole turns of the wheel; `wait` ends each tick's heartbeats before the next tick. */
    const turns = async (count: number, wait: () => Promise<void>) => {
      for (let tick = 0; tick < (count * heartbeatIntervalMs) / 10; tick += 1) {
        vi.advanceTimersByTime(10);
        await wait();
      }
    };
    const sent = () => new Promise<void>((resolve) => setTimeout(resolve, 1));
    try {
      await turns(1, settled);
      expect(beats()).toBe(3);

      // Redis holds every write (a paused or overloaded server, or a network that drops packets
      // without closing the connection: nothing fails until a timeout, if there is one).
      await admin.client('PAUSE', 60_000, 'WRITE');
      await turns(10, sent);
      // Three turns' heartbeats of each connection wait, the next seven turns sent none (30 before).
      expect(beats()).toBe(3 + 9);

      await admin.client('UNPAUSE');
      await settled();
      await turns(1, settled);
      expect(beats()).toBe(12 + 3);
      expect(logged).toEqual([]);
    } finally {
      vi.useRealTimers();
      await admin.client('UNPAUSE');
      await presence.stop();
    }
  }, 30_000);
});

import type { CallEvent } from '@calltrack/core';
import {
  connectTestRedis,
  elapseRedisExpiry,
  type RedisServerProcess,
  startRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { Presence } from './presence';

const t0 = Date.parse('2026-11-21T10:00:00.000Z');
const prefix = 'calltrack:presence';
const day = 24 * 3_600_000;

/** Resolves on the client's next `ready` (an `error` event does not reject it). */
function nextReady(client: Redis): Promise<void> {
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

// These tests start their own redis-server (they kill it, and let its keys expire). The probe
// decides skip-or-fail like every Redis suite.
const probe = await connectTestRedis();
probe?.disconnect();

/**
 * Process P connects users and never sweeps (a web process whose sweeper is off, or one that dies
 * before its next sweep); process S sweeps. A tenant P put a connection in must be listed for S,
 * whatever failed between P's listing and P's operation, or else nobody publishes the user's
 * `presence.offline` once P dies.
 */
describe.skipIf(!probe)('Redis presence: a tenant in use stays listed for the sweeper', () => {
  let server: RedisServerProcess | undefined;
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await server?.stop();
  });

  /**
   * The two processes on a redis-server of the test's own; P's client goes through `wrap`, S's
   * through `wrapS`.
   */
  const start = async (
    wrap: (client: Redis) => Redis,
    wrapS: (client: Redis) => Redis = (client) => client,
  ) => {
    server = await startRedisServer();
    const [pClient, sClient] = [0, 1].map(() => {
      const client = new Redis(server!.url, { retryStrategy: () => 50, maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
      return client;
    }) as [Redis, Redis];
    const clock = { time: t0 };
    const published: CallEvent[] = [];
    const processOn = (client: Redis) =>
      createPresence({
        bus: {
          async publish(event) {
            published.push(event);
            return { duplicate: false };
          },
        },
        store: createRedisPresenceStore({ redis: client }),
        clock: { now: () => clock.time },
        ...conformanceTimings,
        autoHeartbeat: false,
        logger: {},
      });
    const p = processOn(wrap(pClient));
    const s = processOn(wrapS(sClient));
    return {
      p,
      s,
      clock,
      redis: sClient,
      /** Redis crashes and comes back empty (no persistence); both clients reconnect. */
      restartEmpty: async () => {
        await server!.kill();
        const ready = Promise.all([nextReady(pClient), nextReady(sClient)]);
        await server!.restart();
        await ready;
      },
      listed: async () =>
        (await sClient.hkeys(`${prefix}:tenants`)).filter((field) => field !== '{seq}'),
      /** P dies (its connections are never heartbeated again); S sweeps twice after the TTL. */
      offlineAfterPDies: async (userId: string) => {
        clock.time += conformanceTimings.connectionTtlMs + 1;
        await s.sweep();
        await s.sweep();
        return published
          .filter((event) => event.userId === userId)
          .map((event) => event.type)
          .filter((type) => type === 'presence.offline');
      },
    };
  };

  /**
   * P's client. With `failFirst`, its first user operation (a script whose KEYS[1] is a user's
   * hash) fails as a dropped connection would, before reaching Redis. With `diesAfter: n`, P dies
   * as soon as its n-th user operation landed: everything it sends after fails (the reply is
   * lost, and P does nothing after it).
   */
  const processClient =
    ({ failFirst = false, diesAfter = 0 }: { failFirst?: boolean; diesAfter?: number }) =>
    (client: Redis): Redis => {
      let failed = !failFirst;
      let landed = 0;
      const closed = () => new Error('Connection is closed.');
      return new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (diesAfter > 0 && landed >= diesAfter) {
            return () => {
              throw closed();
            };
          }
          if (property !== 'evalsha' && property !== 'eval') return value.bind(target);
          return async (...args: unknown[]) => {
            if (!String(args[2]).includes(':u:')) return value.apply(target, args);
            if (!failed) {
              failed = true;
              throw closed();
            }
            // Not landed: NOSCRIPT (after a restart), or refused (`relist`: nothing done).
            const reply = await value.apply(target, args);
            if (!(Array.isArray(reply) && reply[0] === 'relist')) landed += 1;
            return reply;
          };
        },
      }) as Redis;
    };
  /**
   * A client whose next script on the tenants hash, once armed, waits at a gate: `arm()`
   * resolves when one reached it, `open()` lets it go.
   */
  const tenantsGate = () => {
    let held: { reached: () => void; opened: Promise<void> } | undefined;
    let open = () => {};
    return {
      wrap: (client: Redis): Redis =>
        new Proxy(client, {
          get(target, property, receiver) {
            const value = Reflect.get(target, property, receiver);
            if (typeof value !== 'function') return value;
            if (property !== 'evalsha' && property !== 'eval') return value.bind(target);
            return async (...args: unknown[]) => {
              const gate = held;
              if (gate && String(args[2]).endsWith(':tenants')) {
                held = undefined;
                gate.reached();
                await gate.opened;
              }
              return value.apply(target, args);
            };
          },
        }) as Redis,
      arm: () =>
        new Promise<void>((reached) => {
          held = { reached, opened: new Promise<void>((release) => (open = release)) };
        }),
      open: () => open(),
    };
  };
  const deaths = [
    { diesAfter: 0, when: 'later' },
    { diesAfter: 1, when: 'as its operation lands' },
  ];

  /** P's last connect: it lands; when P dies with it, its reply is lost. */
  const connectLast = async (p: Presence, userId: string, dies: boolean): Promise<void> => {
    const connecting = p.connect({ tenantId: 'tenant-a', userId });
    if (dies) await connecting.catch(() => undefined);
    else await connecting;
  };

  /** Waits until every transition of the tenant was confirmed (confirmations run in the background). */
  const confirmed = async (redis: Redis, tenantId: string): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while ((await redis.exists(`${prefix}:{${tenantId}}:outbox`)) > 0) {
      if (Date.now() > deadline) throw new Error(`${tenantId}'s outbox was not confirmed`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };

  it.each(deaths)(
    'lists again after an operation failed under a listing Redis then lost in a restart (P dies $when)',
    async ({ diesAfter }) => {
      const { p, s, listed, restartEmpty, offlineAfterPDies } = await start(
        processClient({ failFirst: true, diesAfter }),
      );
      // P's listing lands; its operation does not (the connection dropped).
      await expect(p.connect({ tenantId: 'tenant-a', userId: 'u1' })).rejects.toThrow(/closed/);
      expect(await listed()).toEqual(['tenant-a']);
      await restartEmpty();
      await s.sweep();
      await connectLast(p, 'u1', diesAfter > 0);
      expect(await listed()).toEqual(['tenant-a']);
      expect(await offlineAfterPDies('u1')).toEqual(['presence.offline']);
    },
  );

  it.each(deaths)(
    'lists again after an operation failed under a listing a sweep then unlisted and whose watermark expired (P dies $when)',
    async ({ diesAfter }) => {
      const { p, s, clock, redis, listed, offlineAfterPDies } = await start(
        processClient({ failFirst: true, diesAfter }),
      );
      // The tenant was in use (through S) and is empty now.
      const first = await s.connect({ tenantId: 'tenant-a', userId: 'u0' });
      await first.disconnect({ immediate: true });
      await confirmed(redis, 'tenant-a');
      // P's first operation there fails after its listing; S unlists the tenant with P's number.
      await expect(p.connect({ tenantId: 'tenant-a', userId: 'u1' })).rejects.toThrow(/closed/);
      await s.sweep();
      expect(await listed()).toEqual([]);
      // The tenant's listing hash (its watermark) expires with its records.
      clock.time += day + 3_600_000;
      await elapseRedisExpiry(redis, prefix, day + 3_600_000);
      expect(await redis.exists(`${prefix}:{tenant-a}:listing`)).toBe(0);
      await connectLast(p, 'u1', diesAfter > 0);
      expect(await listed()).toEqual(['tenant-a']);
      expect(await offlineAfterPDies('u1')).toEqual(['presence.offline']);
    },
  );

  it.each(deaths)(
    'keeps a tenant listed when Redis restarts empty while a sweep unlists it and an operation lists it again (P dies $when)',
    async ({ diesAfter }) => {
      const gate = tenantsGate();
      const { p, s, redis, listed, restartEmpty, offlineAfterPDies } = await start(
        processClient({ diesAfter }),
        gate.wrap,
      );
      // The tenant was in use (through S) and is empty now.
      const first = await s.connect({ tenantId: 'tenant-a', userId: 'u0' });
      await first.disconnect({ immediate: true });
      await confirmed(redis, 'tenant-a');
      // S's sweep unlists it: it raised the tenant's watermark to its listing number and waits
      // before removing it (the only script S runs on the tenants hash: it lists nothing).
      const reached = gate.arm();
      const sweeping = s.sweep();
      await reached;
      // Redis comes back empty; P connects a user there (its listing is the tenants hash's first
      // since the restart, and the tenant's records, watermark included, are gone).
      await restartEmpty();
      await connectLast(p, 'u1', diesAfter > 0);
      expect(await listed()).toEqual(['tenant-a']);
      // S's unlisting ends with the watermark it raised before the restart.
      gate.open();
      await sweeping;
      expect(await listed()).toEqual(['tenant-a']);
      expect(await offlineAfterPDies('u1')).toEqual(['presence.offline']);
    },
  );

  it('never runs an operation as fresh under a listing a sweep made', async () => {
    const { p, redis, listed, restartEmpty, offlineAfterPDies } = await start(
      processClient({ diesAfter: 2 }),
    );
    await p.connect({ tenantId: 'tenant-a', userId: 'u1' });
    // The tenants hash lost the tenant alone (its node's data, on a Cluster): P's sweep lists
    // it again, its records being there; no operation of P carries that number.
    await redis.hdel(`${prefix}:tenants`, 'tenant-a');
    await p.sweep();
    expect(await listed()).toEqual(['tenant-a']);
    // Then Redis loses everything, and P dies as its next operation lands.
    await restartEmpty();
    await connectLast(p, 'u2', true);
    expect(await listed()).toEqual(['tenant-a']);
    expect(await offlineAfterPDies('u2')).toEqual(['presence.offline']);
  });

  it('lists again when Redis lost its data between a listing and the operation that carries it', async () => {
    // P's first user operation waits at the gate, after its listing landed.
    let gate: { reached: () => void; opened: Promise<void> } | undefined;
    let open = () => {};
    const reached = new Promise<void>((resolve) => {
      gate = { reached: resolve, opened: new Promise<void>((release) => (open = release)) };
    });
    const gated = (client: Redis): Redis =>
      new Proxy(client, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          if (property !== 'evalsha') return value.bind(target);
          return async (...args: unknown[]) => {
            const held = gate;
            if (held && String(args[2]).includes(':u:')) {
              gate = undefined;
              held.reached();
              await held.opened;
            }
            return value.apply(target, args);
          };
        },
      }) as Redis;
    const { p, listed, restartEmpty, offlineAfterPDies } = await start(gated);
    const connecting = p.connect({ tenantId: 'tenant-a', userId: 'u1' });
    await reached;
    expect(await listed()).toEqual(['tenant-a']);
    await restartEmpty();
    open();
    await connecting;
    expect(await listed()).toEqual(['tenant-a']);
    expect(await offlineAfterPDies('u1')).toEqual(['presence.offline']);
  });
});

// The key layout the scaling guide documents for operators ("Key layout"): what a Redis bus and
// a Redis call store on one Redis write for a tenant, by name, type and expiry; and that the
// store "only sends commands on" the client it is given.
import { createRedisBus } from '@calltrack/bus/redis';
import { connectTestRedis, deleteKeys, testRedisUrl, uniquePrefix } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, t0 } from './make-call-event';

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-keys');
const minute = 60_000;

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('the Redis key layout and client use of the scaling guide', () => {
  it('keeps every key of a tenant under its {tenant} hash tag, named as documented', async () => {
    const busPrefix = `${prefix}:bus`;
    const storePrefix = `${prefix}:store`;
    const bus = createRedisBus({ redis: redis!, prefix: busPrefix });
    const clock = { now: t0 };
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis: redis!, prefix: storePrefix }),
      clock: { now: () => clock.now },
      logger: {},
      alerts: { maxConcurrentCalls: 1, cooldownMs: 10 * minute, longCallMs: 30 * minute },
    });
    try {
      const ended = callLifecycle({ callId: 'CA-ended', branchId: 'north' });
      for (const event of ended) await tracker.ingest(event);
      const talking = callLifecycle({ callId: 'CA-talking', branchId: 'north' }).slice(0, 3);
      for (const event of talking) await tracker.ingest(event);
      await tracker.ingest(callLifecycle({ callId: 'CA-second', branchId: 'north' })[0]!);
      clock.now = t0 + 31 * minute;
      await tracker.runMaintenance(clock.now);
      await tracker.getAnalytics('tenant-a', { from: t0, granularity: 'hour' });

      const keys = (await redis!.keys(`${prefix}:*`)).sort();
      const bus_ = `${busPrefix}:{tenant-a}:`;
      const store = `${storePrefix}:{tenant-a}:`;
      // Everything of the tenant carries its hash tag; only the two registries do not.
      expect(
        keys
          .filter((key) => !key.includes('{tenant-a}'))
          .filter((key) => !key.endsWith(':tenants')),
      ).toEqual([]);
      for (const key of [
        `${bus_}meta`,
        `${bus_}stream`,
        `${store}call:CA-ended`,
        `${store}call:CA-talking`,
        `${store}active`,
        `${store}active:branch:north`,
        `${store}branches`,
        `${store}stale`,
        `${store}ended`,
        `${store}ended:branch:north`,
        `${storePrefix}:tenants`,
      ]) {
        expect(keys, key).toContain(key);
      }
      expect(keys.some((key) => key === `${bus_}ids:0` || key === `${bus_}ids:1`)).toBe(true);
      expect(keys.some((key) => key.startsWith(`${store}an:hour:`))).toBe(true);
      expect(keys.some((key) => key.startsWith(`${store}alert:`))).toBe(true);
      // The outbox stays empty with the Redis bus on the same Redis: no key.
      expect(keys).not.toContain(`${store}outbox`);

      expect(await redis!.type(`${bus_}stream`)).toBe('stream');
      expect(await redis!.type(`${store}call:CA-ended`)).toBe('hash');
      expect(await redis!.hget(`${bus_}meta`, 'epoch')).not.toBeNull();
      expect(await redis!.hget(`${bus_}meta`, 'seq')).not.toBeNull();
      // meta outlives history: 7 days after the last publish (metaTtlMs).
      const metaTtl = await redis!.pttl(`${bus_}meta`);
      expect(metaTtl).toBeGreaterThan(7 * 24 * 60 * minute - minute);
      expect(metaTtl).toBeLessThanOrEqual(7 * 24 * 60 * minute);
      // Stream entry ids are <seq>-<publish time>.
      const [first] = await redis!.xrange(`${bus_}stream`, '-', '+', 'COUNT', 1);
      expect(first?.[0]).toMatch(/^1-[0-9]{13}$/);
      // The long-call alert is kept on the call's hash; analytics buckets expire.
      expect(
        Object.keys(await redis!.hgetall(`${store}call:CA-talking`)).some((field) =>
          field.includes('long_call'),
        ),
      ).toBe(true);
      const bucket = keys.find((key) => key.startsWith(`${store}an:hour:`))!;
      expect(await redis!.pttl(bucket)).toBeGreaterThan(0);
    } finally {
      await tracker.stop();
      await bus.close();
    }
  });
  it('sends commands on the client it is given only: no duplicate, and never closes it', async () => {
    const client = new Redis(testRedisUrl);
    await new Promise((resolve) => client.once('ready', resolve));
    const duplicated: unknown[] = [];
    client.duplicate = ((...args: unknown[]) => {
      duplicated.push(args);
      throw new Error('the store must not duplicate the client');
    }) as Redis['duplicate'];
    const store = createRedisCallStore({ redis: client, prefix: `${prefix}:own` });
    // A bus that is not Redis: the store alone talks to Redis here.
    const tracker = createCallTracker({
      bus: { publish: async () => ({ duplicate: false }) },
      store,
      clock: { now: () => t0 },
      logger: {},
    });
    try {
      for (const event of callLifecycle({ callId: 'CA-own' })) await tracker.ingest(event);
      await tracker.runMaintenance(t0 + 2 * 60 * minute);
      await tracker.countActiveCalls('tenant-a');
      await tracker.getAnalytics('tenant-a', { from: t0, granularity: 'hour' });
      await tracker.stop();
      expect(duplicated).toEqual([]);
      expect(client.status).toBe('ready');
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });
});

// Confirmations of published transitions while the presence store's Redis refuses writes (out
// of memory under `noeviction`): transitions decided and published just before Redis filled up
// (each confirmation is held until then), and each tenant's confirmation is refused. An outage is
// one incident in the log, not a line per refused confirmation. On a redis-server of this file's
// own.
import { createMemoryBus } from '@calltrack/bus';
import {
  type RedisServerProcess,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { PresenceStore } from './presence-store';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

/** Confirmations wait for `open()`: Redis can fill up between a publish and its confirmation. */
function holdConfirmations(): { wait: () => Promise<void>; hold(): void; open(): void } {
  let held: { promise: Promise<void>; open(): void } | undefined;
  return {
    wait: () => held?.promise ?? Promise.resolve(),
    hold() {
      let open = () => {};
      const promise = new Promise<void>((resolve) => {
        open = resolve;
      });
      held = { promise, open };
    },
    open() {
      held?.open();
      held = undefined;
    },
  };
}

describe('presence’s confirmations during an outage', () => {
  it('logs the first refused confirmation once, and one line when a confirmation works again', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const redisStore = createRedisPresenceStore({ redis, prefix: 'confirm-outage:presence' });
    // Every confirmation the engine sends, so the test waits for them instead of for time.
    const confirmations: Promise<unknown>[] = [];
    const held = holdConfirmations();
    const store: PresenceStore = {
      ...redisStore,
      confirm(tenantId, eventIds) {
        const confirming = held.wait().then(() => redisStore.confirm(tenantId, eventIds));
        confirmations.push(confirming.catch(() => {}));
        return confirming;
      },
    };
    const settled = async () => {
      await Promise.all(confirmations);
      await new Promise((resolve) => setImmediate(resolve));
    };
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const logged: { level: string; message: string }[] = [];
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      clock: { now: () => now },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {
        error: (message) => logged.push({ level: 'error', message }),
        warn: (message) => logged.push({ level: 'warn', message }),
      },
    });
    const tenants = ['t1', 't2', 't3', 't4', 't5'];
    try {
      // Each tenant's online transition is published; its confirmation waits for Redis to fill
      // up, and is refused.
      held.hold();
      for (const tenantId of tenants) await presence.connect({ tenantId, userId: 'u1' });
      expect(logged).toEqual([]);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      held.open();
      await settled();
      expect(confirmations).toHaveLength(tenants.length);
      expect(logged).toEqual([
        {
          level: 'error',
          message:
            'Confirmations fail: Redis cannot be reached; reported once, until one works again.',
        },
      ]);

      await admin.config('SET', 'maxmemory', '0');
      // Once their lease runs out, a sweep publishes the transitions again; confirmed now.
      now += conformanceTimings.publishLeaseMs + 1;
      await presence.sweep();
      await settled();
      expect(logged.slice(1)).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(
            /^Confirmations work again after [\d.]+ s and 5 failures \(only the first was reported\)\.$/,
          ),
        },
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await presence.stop();
      redis.disconnect();
    }
  }, 30_000);

  it('ends the incident once confirmations stay quiet, when another process confirmed what failed here', async () => {
    if (!server || !admin) return;
    const prefix = 'confirm-outage-two:presence';
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    // Every confirmation either engine sends, so the test waits for them instead of for time.
    const confirmations: Promise<unknown>[] = [];
    const held = holdConfirmations();
    const watched = (redisStore: PresenceStore): PresenceStore => ({
      ...redisStore,
      confirm(tenantId, eventIds) {
        const confirming = held.wait().then(() => redisStore.confirm(tenantId, eventIds));
        confirmations.push(confirming.catch(() => {}));
        return confirming;
      },
    });
    const settled = async () => {
      await Promise.all(confirmations);
      await new Promise((resolve) => setImmediate(resolve));
    };
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const sweepIntervalMs = 5_000;
    const logged: { level: string; message: string }[] = [];
    const engine = (logger: { error(message: string): void; warn(message: string): void }) =>
      createPresence({
        bus: createMemoryBus(),
        store: watched(createRedisPresenceStore({ redis, prefix })),
        clock: { now: () => now },
        ...conformanceTimings,
        sweepIntervalMs,
        autoHeartbeat: false,
        logger,
      });
    const first = engine({
      error: (message) => logged.push({ level: 'error', message }),
      warn: (message) => logged.push({ level: 'warn', message }),
    });
    const second = engine({ error: () => {}, warn: () => {} });
    const outageReported = {
      level: 'error',
      message: 'Confirmations fail: Redis cannot be reached; reported once, until one works again.',
    };
    try {
      held.hold();
      await first.connect({ tenantId: 't1', userId: 'u1' });
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      held.open();
      await settled();
      expect(logged).toEqual([outageReported]);

      await admin.config('SET', 'maxmemory', '0');
      // The other process's sweep takes the transition over once its lease runs out, and
      // confirms it: the first process never confirms t1 again.
      now += conformanceTimings.publishLeaseMs + 1;
      expect((await second.sweep()).transitions).toBe(1);
      await settled();
      expect((await first.sweep()).transitions).toBe(0);
      expect(logged).toHaveLength(1);

      // A lease and a sweep interval without a failed confirmation: the next sweep that works
      // ends the incident.
      now += sweepIntervalMs;
      await first.sweep();
      await settled();
      expect(logged.slice(1)).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(
            /^Confirmations work again after [\d.]+ s and 1 failures \(only the first was reported\)\.$/,
          ),
        },
      ]);

      // The next outage is reported.
      held.hold();
      await first.connect({ tenantId: 't1', userId: 'u2' });
      await admin.config('SET', 'maxmemory', '1');
      held.open();
      await settled();
      expect(logged.slice(2)).toEqual([outageReported]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await first.stop();
      await second.stop();
      redis.disconnect();
    }
  }, 30_000);
});

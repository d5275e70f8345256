// Presence on the Redis store while Redis refuses writes (out of memory under `noeviction`, as a
// full production Redis): an outage like an unreachable Redis, not a bug. A connect rejects with
// `RedisUnavailableError` (a transport answers it 503 with Retry-After; background loops report
// it as an outage), and nothing written (a connection's data) is on what is thrown or logged. On a
// redis-server of this file's own (CONFIG SET never touches the shared test Redis).
import { inspect } from 'node:util';
import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError, toErrorResponse } from '@calltrack/core';
import {
  type RedisServerProcess,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceSettings, conformanceTimings } from './describe-presence-store';

const phoneDigits = '4155550123';

/** Everything a logger could print of a value: hidden fields, causes, `command`. */
const everything = (value: unknown): string =>
  inspect(value, { depth: 20, showHidden: true, maxStringLength: Number.POSITIVE_INFINITY });

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe('Redis presence while Redis refuses writes', () => {
  it('refuses a connect and a connection’s update as an outage (503), with no data on them', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const now = Date.parse('2026-11-21T10:00:00.000Z');
    const logged: { level: string; message: string; context: unknown }[] = [];
    const log =
      (level: string) =>
      (message: string, context?: unknown): void => {
        logged.push({ level, message, context });
      };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis, prefix: 'refusals:presence' }),
      clock: { now: () => now },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: { error: log('error'), warn: log('warn') },
    });
    try {
      const u1 = await presence.connect({ tenantId: 'tenant-a', userId: 'u1', data: { desk: 1 } });

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const refused = await presence
        .connect({ tenantId: 'tenant-a', userId: 'u2', data: { phone: `+1${phoneDigits}` } })
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(refused)).toBe(true);
      expect((refused as Error).message).toMatch(
        /^Redis cannot take commands right now \(OOM .+\) while applying a presence operation\./,
      );
      expect(everything(refused)).not.toContain(phoneDigits);
      // What SSE and Socket.IO answer a connect that failed so.
      const answer = toErrorResponse(refused);
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);

      // A connection's own calls (a transport's keepalive, new data) are refused alike.
      const updated = await u1
        .update({ phone: `+1${phoneDigits}` })
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(updated)).toBe(true);
      expect(everything(updated)).not.toContain(phoneDigits);
      // Background work refused meanwhile (confirming u1's transition) is logged without values.
      await presence.stop();
      expect(everything(logged)).not.toContain(phoneDigits);

      await admin.config('SET', 'maxmemory', '0');
      const again = createPresence({
        bus: createMemoryBus(),
        store: createRedisPresenceStore({ redis, prefix: 'refusals:presence' }),
        clock: { now: () => now },
        ...conformanceTimings,
        autoHeartbeat: false,
        logger: {},
      });
      await again.connect({ tenantId: 'tenant-a', userId: 'u2', data: { desk: 2 } });
      expect((await again.getPresence('tenant-a', 'u2')).status).toBe('online');
      await again.stop();
    } finally {
      await presence.stop();
      redis.disconnect();
      await admin.config('SET', 'maxmemory', '0');
    }
  }, 30_000);

  it('refuses a sweep whole, also one whose first write deletes an expired connection', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const store = createRedisPresenceStore({ redis, prefix: 'refusals:sweep' });
    const settings = conformanceSettings();
    const at = Date.parse('2026-11-21T10:00:00.000Z');
    try {
      const op = { tenantId: 'tenant-a', userId: 'u1', settings } as const;
      const connected = await store.apply({ ...op, kind: 'connect', connectionId: 'c1', at });
      // Published and confirmed: the outbox is empty, so the sweep's first write is the expired
      // connection's removal (a delete, which Redis never refuses for memory by itself).
      await store.confirm('tenant-a', [connected.transition!.eventId]);

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const expired = at + settings.connectionTtlMs + 1;
      const refused = await store
        .sweep('tenant-a', expired, settings, 100)
        .catch((error: unknown) => error);
      expect(RedisUnavailableError.isInstance(refused), String(refused)).toBe(true);
      expect((refused as Error).message).toMatch(/\(OOM .+\) while sweeping a tenant\./);
      // Nothing was written: the connection and the user's status are as they were.
      expect(await admin.hexists('refusals:sweep:{tenant-a}:u:u1', 'c:c1')).toBe(1);
      expect(await admin.hget('refusals:sweep:{tenant-a}:u:u1', 's')).toBe('online');

      await admin.config('SET', 'maxmemory', '0');
      const swept = await store.sweep('tenant-a', expired, settings, 100);
      expect(swept.transitions.map(({ type, userId }) => ({ type, userId }))).toEqual([
        { type: 'presence.offline', userId: 'u1' },
      ]);
    } finally {
      redis.disconnect();
      await admin.config('SET', 'maxmemory', '0');
    }
  }, 30_000);
});

// Presence on the Redis store with a client that has ended (its `retryStrategy` gave up, or the
// app called quit()): a bug or a shutdown, answered 500 `redis_client_closed` as the tracker's
// call store answers it, not a 503 outage that clients would retry for ever. On a redis-server of
// this file's own. Its background loops (sweeps, heartbeats) say so once, not at every run.
import { createMemoryBus } from '@calltrack/bus';
import { toErrorResponse } from '@calltrack/core';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { PresenceStore } from './presence-store';

const clients = endableRedisClients();

describe('Redis presence on a client that has ended', () => {
  it('refuses a connect and a read 500 redis_client_closed, not 503', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis, prefix: 'closed:presence' }),
      clock: { now: () => Date.parse('2026-11-21T10:00:00.000Z') },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
    });
    try {
      await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
      await clients.end(redis);
      for (const failed of [
        await presence
          .connect({ tenantId: 'tenant-a', userId: 'u2' })
          .catch((error: unknown) => error),
        await presence.getPresence('tenant-a', 'u1').catch((error: unknown) => error),
      ]) {
        expect(failed).toMatchObject({ code: 'redis_client_closed', status: 500 });
        expect(toErrorResponse(failed).status).toBe(500);
      }
    } finally {
      await presence.stop();
    }
  });

  it('logs the ended client once for its sweeps and once for its heartbeats, however many run', async () => {
    const redis = clients.connect();
    if (!redis) return;
    // The sweeps and the heartbeat wheel run on setInterval: moved here, not waited for.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const redisStore = createRedisPresenceStore({ redis, prefix: 'closed:presence-loops' });
    const runs = { sweeps: 0, heartbeats: 0 };
    const store: PresenceStore = {
      ...redisStore,
      listTenants() {
        runs.sweeps += 1;
        return redisStore.listTenants();
      },
      heartbeat(...args) {
        runs.heartbeats += 1;
        return redisStore.heartbeat!(...args);
      },
    };
    const logged: string[] = [];
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      ...conformanceTimings,
      sweepIntervalMs: 1000,
      logger: {
        error: (message) => logged.push(message),
        warn: (message) => logged.push(message),
      },
    });
    try {
      presence.start();
      await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
      await presence.connect({ tenantId: 'tenant-b', userId: 'u2' });
      await clients.end(redis);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(runs.sweeps).toBeGreaterThanOrEqual(20);
      expect(runs.heartbeats).toBeGreaterThanOrEqual(20);
      const ended = (loop: string) =>
        `${loop} fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.`;
      expect(logged.sort()).toEqual([ended('Presence heartbeats'), ended('Presence sweeps')]);
    } finally {
      vi.useRealTimers();
      await presence.stop();
    }
  });
});

// Presence on the Redis store with a client that has ended (its `retryStrategy` gave up, or the
// app called quit()): a bug or a shutdown, answered 500 `redis_client_closed` as the tracker's
// call store answers it, not a 503 outage that clients would retry for ever. On a redis-server of
// this file's own.
import { createMemoryBus } from '@calltrack/bus';
import { toErrorResponse } from '@calltrack/core';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';

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
});

// The dialer's Redis parts (lead store, locks, do-not-call list) on a client that has ended (its
// `retryStrategy` gave up, or the app called quit()): a bug or a shutdown, answered 500
// `redis_client_closed` as the tracker's call store answers it, not a 503 outage that callers
// would retry for ever. On a redis-server of this file's own.
import { toErrorResponse } from '@calltrack/core';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import { createRedisLeadStore } from './create-redis-lead-store';

const clients = endableRedisClients();

describe("the dialer's Redis parts on a client that has ended", () => {
  it('answer 500 redis_client_closed, not 503', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const store = createRedisLeadStore({ redis, prefix: 'closed:dialer' });
    const locks = createRedisDialerLocks({ redis, prefix: 'closed:dialer:lock' });
    const list = createRedisDoNotCallList({ redis, prefix: 'closed:dialer' });
    await store.getLead('acme', 'lead-1');
    await clients.end(redis);
    for (const failed of [
      await store.getLead('acme', 'lead-1').catch((error: unknown) => error),
      await locks.acquire('run:acme:u1', 1000).catch((error: unknown) => error),
      await list.add('acme', ['+14155550123']).catch((error: unknown) => error),
    ]) {
      expect(failed).toMatchObject({ code: 'redis_client_closed', status: 500 });
      expect(toErrorResponse(failed).status).toBe(500);
    }
  });
});

// The Redis idempotency store on a client that has ended (its `retryStrategy` gave up, or the
// app called quit()): a bug or a shutdown, answered 500 `redis_client_closed` as the call store
// answers it, not a 503 outage that callers would retry for ever. On a redis-server of this
// file's own.
import { toErrorResponse } from '@calltrack/core';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore } from './create-redis-idempotency-store';

const clients = endableRedisClients();

describe('the Redis idempotency store on a client that has ended', () => {
  it('answers a claim 500 redis_client_closed, not 503', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const store = createRedisIdempotencyStore({ redis, prefix: 'closed:tracker' });
    await clients.end(redis);
    const failed = await store
      .claim('demo', 'request-1', { fingerprint: 'f', now: Date.now(), ttlMs: 60_000 })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'redis_client_closed', status: 500 });
    expect(toErrorResponse(failed).status).toBe(500);
  });
});

// The Redis idempotency store on a client that has ended (its `retryStrategy` gave up, or the
// app called quit()): a bug or a shutdown, answered 500 `redis_client_closed` as the call store
// answers it, not a 503 outage that callers would retry for ever. On a redis-server of this
// file's own.
import { toErrorResponse } from '@calltrack/core';
import {
  endRedisClient,
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore } from './create-redis-idempotency-store';

let own: OwnRedisServer = {};
beforeAll(async () => {
  own = await startOwnRedisServer();
});
afterAll(() => stopOwnRedisServer(own));

describe('the Redis idempotency store on a client that has ended', () => {
  it('answers a claim 500 redis_client_closed, not 503', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const redis = new Redis(server.url, { retryStrategy: () => null });
    const store = createRedisIdempotencyStore({ redis, prefix: 'closed:tracker' });
    await endRedisClient(redis, admin);
    const failed = await store
      .claim('demo', 'request-1', { fingerprint: 'f', now: Date.now(), ttlMs: 60_000 })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ code: 'redis_client_closed', status: 500 });
    expect(toErrorResponse(failed).status).toBe(500);
  });
});

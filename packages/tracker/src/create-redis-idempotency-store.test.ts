import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createRedisIdempotencyStore } from './create-redis-idempotency-store';
import { describeIdempotencyStore } from './testing';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('tracker-idempotency');

describe.skipIf(!redis)('createRedisIdempotencyStore', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    redis.disconnect();
  });

  let counter = 0;
  describeIdempotencyStore(
    { describe, it, afterEach },
    {
      name: 'redis',
      createStore: async () => {
        counter += 1;
        const prefix = `${filePrefix}:${counter}`;
        return {
          store: createRedisIdempotencyStore({ redis: redis!, prefix }),
          cleanup: () => deleteKeys(redis!, prefix),
        };
      },
    },
  );

  it('keeps one key per request id under the tenant’s hash tag, expiring with its TTL', async () => {
    const prefix = `${filePrefix}:layout`;
    const store = createRedisIdempotencyStore({ redis: redis!, prefix });
    const claim = await store.claim('acme', 'req-1', { fingerprint: 'f', now: 0, ttlMs: 60_000 });
    const key = `${prefix}:{acme}:idempotency:req-1`;
    expect(await redis!.pttl(key)).toBeGreaterThan(59_000);
    await store.complete(
      'acme',
      'req-1',
      claim.state === 'claimed' ? claim.token : '',
      { status: 202, body: { ok: true } },
      5_000,
    );
    expect(await redis!.pttl(key)).toBeLessThanOrEqual(5_000);
    expect(JSON.parse((await redis!.get(key))!)).toEqual({
      s: 'c',
      f: 'f',
      r: { status: 202, body: { ok: true } },
    });
  });

  it('needs a client', () => {
    expect(() => createRedisIdempotencyStore({} as never)).toThrow(/needs \{ redis \}/);
  });
});

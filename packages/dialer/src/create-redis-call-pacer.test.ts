import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisCallPacer } from './create-redis-call-pacer';
import { createTestClock } from './create-test-clock';

const redis = await connectTestRedis();
const prefix = uniquePrefix('dialer-pace');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('createRedisCallPacer', () => {
  it('lets the rate through per account across pacers sharing Redis, one window at a time', async () => {
    // 5 per second is one call per 200 ms window; windows are numbered on a test clock.
    const clock = createTestClock(0);
    const pacers = [1, 2].map(() => createRedisCallPacer({ redis: redis!, prefix, clock }));
    let granted = 0;
    const all = Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        pacers[index % 2]!.acquire('account', 5).then(() => {
          granted += 1;
        }),
      ),
    );
    await vi.waitFor(() => expect([granted, clock.sleepers]).toEqual([1, 5]));
    for (let step = 1; step <= 5; step += 1) {
      await clock.advance(100);
      expect(granted).toBe(step);
      await clock.advance(100);
      await vi.waitFor(() => expect([granted, clock.sleepers]).toEqual([step + 1, 5 - step]));
    }
    await all;
    // Another account has its own counters; a window's counter expires soon after the window.
    await pacers[0]!.acquire('other', 5);
    const ttl = await redis!.pttl(`${prefix}:1/200000:other:5`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2000);
  });

  it('rejects when the signal aborts, and on a rate that is no rate', async () => {
    const pacer = createRedisCallPacer({ redis: redis!, prefix });
    const aborted = new AbortController();
    aborted.abort();
    await expect(pacer.acquire('aborted', 5, aborted.signal)).rejects.toThrow();
    await expect(pacer.acquire('aborted', -1)).rejects.toMatchObject({ status: 400 });
    expect(() => createRedisCallPacer({} as never)).toThrow(/ioredis client/);
  });
});

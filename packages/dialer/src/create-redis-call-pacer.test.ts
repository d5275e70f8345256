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
  it('spaces calls on one account 1 / callsPerSecond apart across pacers sharing Redis', async () => {
    // Slots are reckoned in Redis's time; the waits run on a test clock, moved by hand.
    const clock = createTestClock();
    const pacers = [1, 2].map(() => createRedisCallPacer({ redis: redis!, prefix, clock }));
    let granted = 0;
    const all = Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        pacers[index % 2]!.acquire('account', 5).then(() => {
          granted += 1;
        }),
      ),
    );
    // The first slot is now; the other five wait 200, 400, … 1,000 ms (less the few ms of real
    // time between their scripts).
    await vi.waitFor(() => expect(clock.sleepers).toBe(5));
    expect(granted).toBe(1);
    const seen: number[] = [];
    for (let step = 0; step < 10; step += 1) {
      await clock.advance(100);
      seen.push(granted);
    }
    expect(seen).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
    await all;
    // Another account has its own slots; the slot key expires once its time has passed.
    await pacers[0]!.acquire('other', 5);
    expect(await redis!.pttl(`${prefix}:slot:other`)).toBeLessThanOrEqual(1200);
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

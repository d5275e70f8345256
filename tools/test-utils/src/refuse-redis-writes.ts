import type { Redis } from 'ioredis';

/**
 * Puts a test's own redis-server where a full production one is: `noeviction` and a `maxmemory`
 * below what it holds, so every write is refused with `OOM command not allowed…` while reads
 * still work. Only for a server the test started itself.
 */
export async function refuseRedisWrites(redis: Redis): Promise<void> {
  await redis.config('SET', 'maxmemory-policy', 'noeviction');
  await redis.config('SET', 'maxmemory', '1mb');
  // Fill it past the limit: the write that crosses it is the last one Redis takes.
  const filler = 'x'.repeat(64 * 1024);
  for (let index = 0; index < 1_000; index += 1) {
    try {
      await redis.set(`refuse-redis-writes:filler:${index}`, filler);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('OOM')) return;
      throw error;
    }
  }
  throw new Error('refuseRedisWrites: Redis kept taking writes past maxmemory.');
}

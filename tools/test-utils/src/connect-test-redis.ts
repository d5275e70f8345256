import { Redis, type RedisOptions } from 'ioredis';

/** Where the shared test Redis runs: `REDIS_URL`, or the machine's Redis on 127.0.0.1:6379. */
export const testRedisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when `CALLTRACK_REQUIRE_REDIS=1`: a missing Redis fails the run instead of skipping. */
export const redisRequired = process.env.CALLTRACK_REQUIRE_REDIS === '1';

/**
 * Opens a client to the test Redis, or returns undefined when none answers (so suites can skip
 * locally). With `CALLTRACK_REQUIRE_REDIS=1` an unreachable Redis throws instead.
 */
export async function connectTestRedis(options: RedisOptions = {}): Promise<Redis | undefined> {
  const redis = new Redis(testRedisUrl, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    ...options,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (error) {
    redis.disconnect();
    if (redisRequired) {
      throw new Error(`CALLTRACK_REQUIRE_REDIS=1 but Redis at ${testRedisUrl} does not answer`, {
        cause: error,
      });
    }
    return undefined;
  }
}

/** A key prefix no other test uses, so suites can share one Redis. */
export function uniquePrefix(name = 'test'): string {
  return `ct-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes every key under a prefix (SCAN, so it is safe on a shared server). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

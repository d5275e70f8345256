import type { Redis } from 'ioredis';

/**
 * Lets `ms` pass on Redis's expiry clock for the keys under `prefix`: Redis expires keys by its
 * own clock, which a test clock does not move. Shortens each expiring key's time to live by
 * `ms`, and deletes the keys whose time is up.
 */
export async function elapseRedisExpiry(redis: Redis, prefix: string, ms: number): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const ttl = await redis.pttl(key);
      if (ttl < 0) continue;
      if (ttl <= ms) await redis.unlink(key);
      else await redis.pexpire(key, ttl - ms);
    }
  } while (cursor !== '0');
}

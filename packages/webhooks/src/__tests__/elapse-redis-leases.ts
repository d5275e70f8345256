import type { Redis } from 'ioredis';

// Moves every holder's end in one sorted set `ARGV[1]` ms earlier (XX: adds no one).
const moveEndsEarlier = `
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for index = 1, #entries, 2 do
  redis.call('ZADD', KEYS[1], 'XX', tonumber(entries[index + 1]) - tonumber(ARGV[1]), entries[index])
end
return #entries / 2
`;

/**
 * Lets `ms` pass on the Redis store's leases under `prefix`: the direct first attempts' leases
 * (`leases`) and the endpoints' concurrency slots (`slots:<endpoint>`) end at Redis `TIME`, which
 * a test clock does not move. A crash test moves their ends instead of waiting them out in real
 * time. Returns how many leases and slots it moved.
 */
export async function elapseRedisLeases(redis: Redis, prefix: string, ms: number): Promise<number> {
  let moved = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:{*}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      if (!key.endsWith(':leases') && !key.includes(':slots:')) continue;
      moved += (await redis.eval(moveEndsEarlier, 1, key, ms)) as number;
    }
  } while (cursor !== '0');
  return moved;
}

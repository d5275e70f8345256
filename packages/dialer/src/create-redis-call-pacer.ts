import { InvalidArgumentError } from '@calltrack/core';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import type { CallPacer } from './call-pacer';
import { createSlotPacer, pacingClock } from './create-slot-pacer';
import type { DialerClock } from './dialer-clock';

/** Options of {@link createRedisCallPacer}. */
export interface RedisCallPacerOptions {
  /** Your ioredis client. The pacer only runs one Lua script on it; nothing is registered. */
  redis: Redis | Cluster;
  /** Prefix of the slot keys (one string per account). Default `calltrack:dialer:pace`. */
  prefix?: string;
  /**
   * Where the pacer waits for its slot. Default: the real clock (its waits keep the process
   * alive). Slots are reckoned in the Redis server's time, so processes whose clocks differ
   * still space their calls on one timeline.
   */
  clock?: DialerClock;
}

// KEYS: the account's slot key. ARGV: spacing in microseconds. Returns the wait in microseconds.
// The key holds when the next slot starts (µs, server time) and expires once that has passed.
const reserveSlotScript = defineRedisScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or 0), now)
local next = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000) + 1000)
return slot - now
`);

/**
 * Paces calls per provider account across every process on one Redis: each call reserves the
 * account's next slot (`1 / callsPerSecond` s after the previous one) in one script, then waits
 * for it. When Redis does not answer, `acquire` rejects: no call is placed unpaced.
 */
export function createRedisCallPacer(options: RedisCallPacerOptions): CallPacer {
  if (options == null || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisCallPacer needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  const prefix = options.prefix ?? 'calltrack:dialer:pace';
  return createSlotPacer(async (account, spacingMs) => {
    const waitMicros = await runRedisScript(
      redis,
      reserveSlotScript,
      [`${prefix}:slot:${account}`],
      [Math.round(spacingMs * 1000)],
    );
    return Number(waitMicros) / 1000;
  }, options.clock ?? pacingClock);
}

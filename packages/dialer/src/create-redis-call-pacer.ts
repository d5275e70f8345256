import { InvalidArgumentError } from '@calltrack/core';
import type { Cluster, Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';
import { createRateLimiterPacer } from './create-rate-limiter-pacer';
import type { DialerClock } from './dialer-clock';
import { pacingClock } from './pacing-clock';

/** Options of {@link createRedisCallPacer}. */
export interface RedisCallPacerOptions {
  /**
   * Your ioredis client. rate-limiter-flexible registers one Lua command on it
   * (`rlflxIncr`); nothing else is changed.
   */
  redis: Redis | Cluster;
  /** Prefix of the counters' keys. Default `calltrack:dialer:pace`. */
  prefix?: string;
  /**
   * Where the pacer reads the time and waits. Default: the real clock (its waits keep the
   * process alive). Windows are numbered on it, so processes on several hosts need their clocks
   * in step (NTP): a skew of a few ms may let one window's `points` more through.
   */
  clock?: DialerClock;
}

/**
 * Paces calls per provider account across every process on one Redis, with
 * rate-limiter-flexible's `RateLimiterRedis` (an atomic counter per window, windows of about a
 * tenth of a second). When Redis does not answer, `acquire` rejects: no call is placed unpaced.
 */
export function createRedisCallPacer(options: RedisCallPacerOptions): CallPacer {
  if (options == null || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisCallPacer needs { redis }: your ioredis client.',
    });
  }
  const prefix = options.prefix ?? 'calltrack:dialer:pace';
  return createRateLimiterPacer(
    ({ points, duration, keyPrefix }) =>
      new RateLimiterRedis({
        storeClient: options.redis,
        points,
        duration,
        keyPrefix: `${prefix}:${keyPrefix}`,
        rejectIfRedisNotReady: true,
      }),
    options.clock ?? pacingClock,
  );
}

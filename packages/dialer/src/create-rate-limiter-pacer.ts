import { InvalidArgumentError } from '@calltrack/core';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';
import type { DialerClock } from './dialer-clock';

/**
 * The pacing window for a rate: `points` calls per `windowMs`, windows of about a tenth of a
 * second from 10 calls per second up (50/s → 5 per 100 ms, 15/s → 2 per 133.3 ms, 1/s → 1 per
 * second, 0.3/s → 1 per 3,333.3 ms). Any one second then holds at most `callsPerSecond + points`
 * calls, wherever it starts; a window of a whole second let up to twice the rate through
 * (decision 0047).
 */
export function pacingWindow(callsPerSecond: number): { points: number; windowMs: number } {
  if (
    !(typeof callsPerSecond === 'number' && callsPerSecond > 0 && Number.isFinite(callsPerSecond))
  ) {
    throw new InvalidArgumentError({
      message: `callsPerSecond must be a positive number, got ${String(callsPerSecond)}.`,
    });
  }
  const points = Math.ceil(callsPerSecond / 10);
  return { points, windowMs: (1000 * points) / callsPerSecond };
}

/** What a {@link createRateLimiterPacer} asks of its limiter factory. */
export interface PacingLimiterOptions {
  points: number;
  /** Whole seconds a window's counter lives: longer than the window, then it expires. */
  duration: number;
  keyPrefix: string;
}

/**
 * A {@link CallPacer} over rate-limiter-flexible. rate-limiter-flexible's windows are whole
 * seconds on Redis, so each window of {@link pacingWindow} gets a counter of its own: the key
 * names the account and the window's number on the pacer's clock, and the limiter counts its
 * points atomically (across processes on Redis). A refused call waits for the next window and
 * asks again.
 */
export function createRateLimiterPacer(
  makeLimiter: (options: PacingLimiterOptions) => RateLimiterAbstract,
  clock: DialerClock,
): CallPacer {
  const limiters = new Map<number, { limiter: RateLimiterAbstract; windowMs: number }>();
  const limiterFor = (callsPerSecond: number) => {
    let entry = limiters.get(callsPerSecond);
    if (entry === undefined) {
      const { points, windowMs } = pacingWindow(callsPerSecond);
      const limiter = makeLimiter({
        points,
        duration: Math.ceil(windowMs / 1000) + 1,
        keyPrefix: `${points}/${Math.round(windowMs * 1000)}`,
      });
      entry = { limiter, windowMs };
      limiters.set(callsPerSecond, entry);
    }
    return entry;
  };

  return {
    async acquire(account, callsPerSecond, signal) {
      const { limiter, windowMs } = limiterFor(callsPerSecond);
      for (;;) {
        signal?.throwIfAborted();
        const now = clock.now();
        const window = Math.floor(now / windowMs);
        try {
          await limiter.consume(`${account}:${window}`, 1);
          return;
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) throw refusal;
          await clock.sleep(Math.max(1, (window + 1) * windowMs - now), signal);
        }
      }
    },
  };
}

import { InvalidArgumentError } from '@calltrack/core';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';

/** Points per window and the window, in whole seconds, for a rate (0.5 cps = 1 call per 2 s). */
export function pacingWindow(callsPerSecond: number): { points: number; duration: number } {
  if (
    !(typeof callsPerSecond === 'number' && callsPerSecond > 0 && Number.isFinite(callsPerSecond))
  ) {
    throw new InvalidArgumentError({
      message: `callsPerSecond must be a positive number, got ${String(callsPerSecond)}.`,
    });
  }
  if (callsPerSecond >= 1) return { points: Math.floor(callsPerSecond), duration: 1 };
  return { points: 1, duration: Math.round(1 / callsPerSecond) };
}

/**
 * A {@link CallPacer} over rate-limiter-flexible: one limiter per account and rate, a fixed
 * window of whole seconds; a refused call waits `msBeforeNext` and asks again.
 */
export function createRateLimiterPacer(
  makeLimiter: (window: {
    points: number;
    duration: number;
    keyPrefix: string;
  }) => RateLimiterAbstract,
): CallPacer {
  const limiters = new Map<string, RateLimiterAbstract>();
  const limiterFor = (callsPerSecond: number): RateLimiterAbstract => {
    const window = pacingWindow(callsPerSecond);
    const id = `${window.points}/${window.duration}`;
    let limiter = limiters.get(id);
    if (limiter === undefined) {
      limiter = makeLimiter({ ...window, keyPrefix: id });
      limiters.set(id, limiter);
    }
    return limiter;
  };

  return {
    async acquire(account, callsPerSecond, signal) {
      const limiter = limiterFor(callsPerSecond);
      for (;;) {
        signal?.throwIfAborted();
        try {
          await limiter.consume(account, 1);
          return;
        } catch (refusal) {
          if (!(refusal instanceof RateLimiterRes)) throw refusal;
          await wait(Math.max(1, refusal.msBeforeNext), signal);
        }
      }
    },
  };
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

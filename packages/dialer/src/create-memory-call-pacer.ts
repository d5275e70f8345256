import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';
import { createRateLimiterPacer } from './create-rate-limiter-pacer';

/** Paces calls within this process (rate-limiter-flexible's `RateLimiterMemory`). */
export function createMemoryCallPacer(): CallPacer {
  return createRateLimiterPacer(
    ({ points, duration, keyPrefix }) => new RateLimiterMemory({ points, duration, keyPrefix }),
  );
}

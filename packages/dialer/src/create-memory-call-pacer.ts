import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { CallPacer } from './call-pacer';
import { createRateLimiterPacer } from './create-rate-limiter-pacer';
import type { DialerClock } from './dialer-clock';
import { pacingClock } from './pacing-clock';

/** Options of {@link createMemoryCallPacer}. */
export interface MemoryCallPacerOptions {
  /** Where the pacer reads the time and waits. Default: the real clock (its waits keep the process alive). */
  clock?: DialerClock;
}

/**
 * Paces calls within this process (rate-limiter-flexible's `RateLimiterMemory`):
 * `callsPerSecond` per account, counted in windows of about a tenth of a second.
 */
export function createMemoryCallPacer(options: MemoryCallPacerOptions = {}): CallPacer {
  return createRateLimiterPacer(
    ({ points, duration, keyPrefix }) => new RateLimiterMemory({ points, duration, keyPrefix }),
    options.clock ?? pacingClock,
  );
}

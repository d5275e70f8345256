import type { Clock } from '@calltrack/core';
import { longestTimerDelayMs } from '@calltrack/core/internal';

/**
 * Where the dialer reads the time and waits: calling windows, attempt gaps, leases, the
 * reconciler and the waits between polls all use it, so tests move time instead of sleeping.
 * Pacing (calls per second) is the provider's real rate: the built-in pacers take a clock of
 * their own (`createMemoryCallPacer({ clock })`), the real one unless a test gives another.
 */
export interface DialerClock extends Clock {
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and unref()ed timers. */
export const systemClock: DialerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      // A longer sleep wakes after the longest a timer waits; the sleeper finds its time not come.
      const timer = setTimeout(done, Math.min(Math.max(0, ms), longestTimerDelayMs));
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};

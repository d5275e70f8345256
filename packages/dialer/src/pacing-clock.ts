import type { DialerClock } from './dialer-clock';

/**
 * The real clock for pacers. Unlike the dialer's `systemClock`, its waits keep the process
 * alive: a call is about to be placed.
 */
export const pacingClock: DialerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    }),
};

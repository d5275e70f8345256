import type { Clock } from '@calltrack/core';

/**
 * Where the dispatcher reads the time. Retry schedules, `nextAttemptAt`, rate limits, the
 * auto-disable window, stats windows, signature timestamps and fan-out's backoff while the store
 * refuses a batch all use it, so tests can move time forward instead of sleeping. Request
 * timeouts and worker leases are real time, and so is the Redis store's retention (messages,
 * deliveries and logs expire by Redis's own clock, `retentionMs` after they were written):
 * moving a test clock past the retention drops them from the memory store, not from Redis.
 */
export interface WebhookClock extends Clock {
  /** Calls `callback` once the clock reaches `at`; returns a function that cancels it. */
  setTimer(at: number, callback: () => void): () => void;
  /**
   * Only clocks that jump (test clocks) have it: `listener` runs after every jump, so a backend
   * whose queue sleeps on real time (BullMQ) can wake the deliveries that became due.
   */
  onAdvance?(listener: () => void): () => void;
}

// setTimeout cannot wait longer than this; longer timers re-arm.
const maxTimeout = 2 ** 31 - 1;

/** The real clock: `Date.now()` and unref()ed timers. */
export const systemClock: WebhookClock = {
  now: () => Date.now(),
  setTimer(at, callback) {
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const wait = at - Date.now();
      if (wait <= 0) {
        timer = setTimeout(callback, 0);
      } else {
        timer = setTimeout(wait > maxTimeout ? arm : callback, Math.min(wait, maxTimeout));
      }
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

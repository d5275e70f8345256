import type { WebhookClock } from './webhook-clock';

/** A {@link WebhookClock} that moves only when told to. */
export interface TestClock extends WebhookClock {
  onAdvance(listener: () => void): () => void;
  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void;
  /** Moves time forward to `at` (never backwards). */
  advanceTo(at: number): void;
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/**
 * A clock for tests: time stands still until `advance()`. Timers run in the order they fall due;
 * `onAdvance` listeners (the Redis backend wakes BullMQ's delayed jobs there) run after each jump.
 */
export function createTestClock(start = Date.parse('2026-01-01T00:00:00.000Z')): TestClock {
  let now = start;
  let seq = 0;
  const timers = new Set<Timer>();
  const listeners = new Set<() => void>();

  const advanceTo = (at: number): void => {
    for (;;) {
      let next: Timer | undefined;
      for (const timer of timers) {
        if (
          timer.at <= at &&
          (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq))
        ) {
          next = timer;
        }
      }
      if (!next) break;
      timers.delete(next);
      now = Math.max(now, next.at);
      next.callback();
    }
    now = Math.max(now, at);
    for (const listener of listeners) listener();
  };

  return {
    now: () => now,
    setTimer(at, callback) {
      const timer: Timer = { at, seq: seq++, callback };
      if (at <= now) {
        queueMicrotask(() => {
          if (timers.delete(timer)) callback();
        });
      }
      timers.add(timer);
      return () => {
        timers.delete(timer);
      };
    },
    onAdvance(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    advance: (ms) => advanceTo(now + ms),
    advanceTo,
  };
}

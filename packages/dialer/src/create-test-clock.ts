import type { DialerClock } from './dialer-clock';

/** A {@link DialerClock} that moves only when told to. */
export interface TestClock extends DialerClock {
  /** Moves time forward by `ms`, waking every sleeper whose time came, in order. */
  advance(ms: number): Promise<void>;
  /** Sets the time (forward only), waking sleepers like {@link TestClock.advance}. */
  set(at: number): Promise<void>;
  /** How many sleeps are waiting. */
  readonly sleepers: number;
}

interface Sleeper {
  at: number;
  wake: () => void;
}

/**
 * A clock for tests: time stands still until `advance()`; sleeps resolve when time reaches them.
 * `advance` lets promise callbacks run between wake-ups, so code woken by one sleep can schedule
 * the next before time moves on.
 */
export function createTestClock(start = Date.parse('2026-03-02T15:00:00.000Z')): TestClock {
  let now = start;
  const sleepers = new Set<Sleeper>();

  const set = async (at: number): Promise<void> => {
    for (;;) {
      let next: Sleeper | undefined;
      for (const sleeper of sleepers)
        if (sleeper.at <= at && (!next || sleeper.at < next.at)) next = sleeper;
      if (!next) break;
      sleepers.delete(next);
      now = Math.max(now, next.at);
      next.wake();
      for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
    }
    now = Math.max(now, at);
    for (let turn = 0; turn < 20; turn += 1) await Promise.resolve();
  };

  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const sleeper: Sleeper = {
          at: now + Math.max(0, ms),
          wake: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          sleepers.delete(sleeper);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        sleepers.add(sleeper);
      });
    },
    advance: (ms) => set(now + ms),
    set,
    get sleepers() {
      return sleepers.size;
    },
  };
}

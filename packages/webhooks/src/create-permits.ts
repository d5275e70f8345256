/** A counting semaphore: at most `limit` holders at once, the others wait in order. */
export interface Permits {
  /** Takes a permit: `true` at once when one is free, else a promise that resolves with one. */
  acquire(): true | Promise<void>;
  /** Takes a permit only if one is free right now (never waits, never queues). */
  tryAcquire(): boolean;
  /**
   * Takes a permit if one frees up within `ms`: `true` at once when one is free, else a promise
   * of whether one was taken (`false` after `ms`, having given up its place in line).
   */
  acquireWithin(ms: number): true | Promise<boolean>;
  /** Gives a permit back (to the longest waiter, if any). */
  release(): void;
}

interface Waiter {
  grant: () => void;
  /** Set once the waiter gave up; a release passes it by. */
  gone?: boolean;
}

/** Creates {@link Permits}: the dispatcher's cap on requests in flight. */
export function createPermits(limit: number): Permits {
  let free = limit;
  let waiting: Waiter[] = [];
  let head = 0;
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return true;
      }
      return new Promise<void>((resolve) => {
        waiting.push({ grant: resolve });
      });
    },
    tryAcquire() {
      if (free === 0) return false;
      free -= 1;
      return true;
    },
    acquireWithin(ms) {
      if (free > 0) {
        free -= 1;
        return true;
      }
      return new Promise<boolean>((resolve) => {
        const waiter: Waiter = {
          grant: () => {
            clearTimeout(timer);
            resolve(true);
          },
        };
        const timer = setTimeout(() => {
          waiter.gone = true;
          resolve(false);
        }, ms);
        waiting.push(waiter);
      });
    },
    release() {
      while (head < waiting.length) {
        const next = waiting[head]!;
        head += 1;
        if (head === waiting.length) {
          waiting = [];
          head = 0;
        }
        if (next.gone) continue;
        next.grant();
        return;
      }
      free += 1;
    },
  };
}

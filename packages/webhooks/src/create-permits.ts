/** A counting semaphore: at most `limit` holders at once, the others wait in order. */
export interface Permits {
  /** Takes a permit: `true` at once when one is free, else a promise that resolves with one. */
  acquire(): true | Promise<void>;
  /** Takes a permit only if one is free right now (never waits, never queues). */
  tryAcquire(): boolean;
  /** Gives a permit back (to the longest waiter, if any). */
  release(): void;
}

/** Creates {@link Permits}: the dispatcher's cap on requests in flight. */
export function createPermits(limit: number): Permits {
  let free = limit;
  const waiting: (() => void)[] = [];
  let head = 0;
  return {
    acquire() {
      if (free > 0) {
        free -= 1;
        return true;
      }
      return new Promise<void>((resolve) => {
        waiting.push(resolve);
      });
    },
    tryAcquire() {
      if (free === 0) return false;
      free -= 1;
      return true;
    },
    release() {
      if (head < waiting.length) {
        const next = waiting[head]!;
        head += 1;
        if (head === waiting.length) {
          waiting.length = 0;
          head = 0;
        }
        next();
      } else {
        free += 1;
      }
    },
  };
}

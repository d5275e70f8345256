/** A counting semaphore: at most `limit` holders at once, the others wait in order. */
export interface Permits {
  /** Takes a permit: `true` at once when one is free, else a promise that resolves with one. */
  acquire(): true | Promise<void>;
  /** Takes a permit only if one is free right now (never waits, never queues). */
  tryAcquire(): boolean;
  /**
   * Takes a permit if one frees up before `deadline` (a `performance.now()` time): `true` at once
   * when one is free, `false` at once when the deadline has passed, else a promise of whether one
   * was taken (`false` at the deadline, having given up its place in line). Waiters with the same
   * deadline share one timer (a fan-out batch waits with one deadline).
   */
  acquireBefore(deadline: number): boolean | Promise<boolean>;
  /** Gives a permit back (to the longest waiter, if any). */
  release(): void;
}

interface Waiter {
  grant: () => void;
  /** Set once the waiter gave up; a release passes it by. */
  gone?: boolean;
}

/** Waiters sharing a deadline, and their one timer. */
interface DeadlineGroup {
  timer: NodeJS.Timeout;
  /** Resolves with `false` those not served yet. */
  expire: (() => void)[];
  /** How many are still waiting; the timer is cleared when none is. */
  waiting: number;
}

/** Creates {@link Permits}: the dispatcher's cap on requests in flight. */
export function createPermits(limit: number): Permits {
  let free = limit;
  let waiting: Waiter[] = [];
  let head = 0;
  // One timer per deadline, not per waiter: a burst queues hundreds of waiters on one deadline,
  // and a timer of its own each (of a different fractional duration, so each in a list of its
  // own in Node's timer queue) cost more than the rest of the wait.
  const groups = new Map<number, DeadlineGroup>();
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
    acquireBefore,
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

  function acquireBefore(deadline: number): boolean | Promise<boolean> {
    if (free > 0) {
      free -= 1;
      return true;
    }
    const ms = deadline - performance.now();
    if (ms <= 0) return false;
    let group = groups.get(deadline);
    if (!group) {
      const created: DeadlineGroup = {
        expire: [],
        waiting: 0,
        timer: setTimeout(() => {
          groups.delete(deadline);
          for (const expire of created.expire) expire();
        }, ms),
      };
      group = created;
      groups.set(deadline, group);
    }
    const shared = group;
    return new Promise<boolean>((resolve) => {
      let served = false;
      const waiter: Waiter = {
        grant: () => {
          served = true;
          resolve(true);
          shared.waiting -= 1;
          if (shared.waiting === 0) {
            clearTimeout(shared.timer);
            groups.delete(deadline);
          }
        },
      };
      shared.waiting += 1;
      shared.expire.push(() => {
        if (served) return;
        waiter.gone = true;
        resolve(false);
      });
      waiting.push(waiter);
    });
  }
}

/** Puts a time limit on promises that all get the same one. */
export interface DeadlineQueue {
  /**
   * Resolves like `work`; rejects with `failed(error)` when it rejects, or with
   * `failed(undefined)` once the time limit has passed first.
   */
  within<T>(work: Promise<T>, failed: (error: unknown) => Error): Promise<T>;
}

interface Pending {
  at: number;
  /** Until settled; then undefined, so a settled entry keeps nothing alive (see below). */
  reject: ((error: Error) => void) | undefined;
  failed: ((error: unknown) => Error) | undefined;
}

/**
 * A time limit shared by many promises with one timer for all of them: with equal limits they
 * expire in the order they started, so a FIFO queue and a timer set for its head suffice. A
 * publish pays a queue entry instead of a `setTimeout`, a `clearTimeout` and a `Promise.race`
 * (about 1 µs, and garbage). `now` is injectable for tests.
 *
 * A settled entry stays in the queue until the head passes it (up to about a thousand publishes
 * later under steady load), so it lets go of its callbacks when it settles: they hold the
 * caller's event and its JSON, which would otherwise live long enough to be promoted to the old
 * generation, and the garbage collector cost more than the publish itself.
 *
 * Time is read from the monotonic clock (`performance.now()`), as timers run: with the system
 * clock (`Date.now()`), a clock stepped back (NTP, a resumed VM) made a publish to a Redis that
 * does not answer wait the step longer, and one stepped forward failed publishes in flight early.
 */
export function createDeadlineQueue(
  limitMs: number,
  now: () => number = () => performance.now(),
): DeadlineQueue {
  let queue: Pending[] = [];
  let head = 0;
  let timer: NodeJS.Timeout | undefined;

  const expire = (): void => {
    timer = undefined;
    const time = now();
    while (head < queue.length) {
      const pending = queue[head] as Pending;
      const { reject, failed } = pending;
      if (reject !== undefined && failed !== undefined) {
        if (pending.at > time) break;
        settle(pending);
        reject(failed(undefined));
      }
      head += 1;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
      return;
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
    arm();
  };

  /** Drops settled entries from the head, so the queue holds about what is in flight. */
  const drain = (): void => {
    while (head < queue.length && (queue[head] as Pending).reject === undefined) head += 1;
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  const settle = (pending: Pending): void => {
    pending.reject = undefined;
    pending.failed = undefined;
  };

  const arm = (): void => {
    if (timer !== undefined || head === queue.length) return;
    const first = queue[head] as Pending;
    timer = setTimeout(expire, Math.max(0, first.at - now()));
    timer.unref?.();
  };

  return {
    within(work, failed) {
      return new Promise((resolve, reject) => {
        const pending: Pending = { at: now() + limitMs, reject, failed };
        queue.push(pending);
        arm();
        work.then(
          (value) => {
            if (pending.reject === undefined) return;
            settle(pending);
            drain();
            resolve(value);
          },
          (error: unknown) => {
            if (pending.reject === undefined) return;
            settle(pending);
            drain();
            reject(failed(error));
          },
        );
      });
    },
  };
}

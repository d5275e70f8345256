/** Runs work for one key at a time, batching what arrives for a key while its work runs. */
export interface KeyBatcher<Item, Result> {
  /** Resolves with the item's result, in the order items of one key were added. */
  add(key: string, item: Item): Promise<Result>;
  /**
   * Takes an item that still waits for its key's next run out of the queue, and rejects its
   * promise with `reason`: a caller that gave up on it (a deadline) lets go of it at once,
   * instead of when the run in flight ends, which may be never. False when the item is not
   * waiting (a run has it, or it is done).
   */
  withdraw(key: string, item: Item, reason: unknown): boolean;
}

interface Waiting<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

interface KeyQueue<Item, Result> {
  running: boolean;
  waiting: Waiting<Item, Result>[];
}

/** How big a batch may grow. */
export interface KeyBatchLimits<Item> {
  /** Most items per run. */
  maxItems: number;
  /** Most total weight per run (a single heavier item still runs, alone). */
  maxWeight: number;
  weight: (item: Item) => number;
}

/**
 * Adaptive batching per key: the first item of an idle key is run at once, alone (no added
 * latency); items that arrive while a key's run is in flight wait and go together in the next
 * run, within `limits`. Under load the batches grow by themselves, so the fixed cost of one run
 * (a round trip, a script call) is shared; at rest nothing waits. One run per key at a time also
 * keeps the order of a key's items.
 *
 * `run` gets the items of one batch and returns one result per item, in order; when it throws,
 * every item of the batch is rejected with the error.
 */
export function createKeyBatcher<Item, Result>(
  run: (key: string, items: Item[]) => Promise<Result[]>,
  limits: KeyBatchLimits<Item>,
): KeyBatcher<Item, Result> {
  const queues = new Map<string, KeyQueue<Item, Result>>();

  const next = (key: string, queue: KeyQueue<Item, Result>): void => {
    if (queue.waiting.length === 0) {
      queues.delete(key);
      return;
    }
    let count = 0;
    let weight = 0;
    for (const waiting of queue.waiting) {
      weight += limits.weight(waiting.item);
      if (count > 0 && (count === limits.maxItems || weight > limits.maxWeight)) break;
      count += 1;
    }
    const batch = queue.waiting.splice(0, count);
    queue.running = true;
    let running: Promise<Result[]>;
    try {
      running = run(
        key,
        batch.map((waiting) => waiting.item),
      );
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (results) => {
        for (const [index, waiting] of batch.entries()) waiting.resolve(results[index] as Result);
        queue.running = false;
        next(key, queue);
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
        queue.running = false;
        next(key, queue);
      },
    );
  };

  return {
    add(key, item) {
      return new Promise<Result>((resolve, reject) => {
        let queue = queues.get(key);
        if (!queue) {
          queue = { running: false, waiting: [] };
          queues.set(key, queue);
        }
        queue.waiting.push({ item, resolve, reject });
        if (!queue.running) next(key, queue);
      });
    },
    withdraw(key, item, reason) {
      const waiting = queues.get(key)?.waiting;
      // Deadlines expire in the order items came, so the item is at the front or near it.
      const index = waiting?.findIndex((entry) => entry.item === item) ?? -1;
      if (waiting === undefined || index < 0) return false;
      const [withdrawn] = waiting.splice(index, 1);
      withdrawn?.reject(reason);
      return true;
    },
  };
}

/** Something the wheel schedules: it keeps its own slot, so removal needs no lookup table. */
export interface WheelItem {
  /** The bucket the item is in; -1 when it is in none. */
  wheelSlot: number;
}

/**
 * A timing wheel that spreads heartbeats over the interval: one timer per process instead of
 * one per connection. Each `tick()` returns the items of the next bucket; an item comes back
 * every `intervalMs / tickMs` ticks. An item's first turn is jittered to 50–100% of the
 * interval after it was added (Centrifugo's rule), so connections that arrive together (a
 * reconnect storm) do not heartbeat together.
 */
export interface HeartbeatWheel<Item extends WheelItem> {
  /** Schedules an item; its first turn comes after 50–100% of the interval. */
  add(item: Item): void;
  /** Unschedules an item (no-op when it is not scheduled). */
  remove(item: Item): void;
  /** Advances one bucket and returns its items (they stay scheduled). */
  tick(): Item[];
  /** Every scheduled item. */
  items(): Item[];
  /** How many items are scheduled. */
  readonly size: number;
  /** Time between two ticks (ms). */
  readonly tickMs: number;
}

/** Creates a {@link HeartbeatWheel}; `random` is injectable for tests. */
export function createHeartbeatWheel<Item extends WheelItem>(options: {
  intervalMs: number;
  random?: () => number;
}): HeartbeatWheel<Item> {
  const { intervalMs } = options;
  const random = options.random ?? Math.random;
  // About 25 buckets per interval (1 s at the default 25 s), never finer than 10 ms.
  const tickMs = Math.max(10, Math.floor(intervalMs / 25));
  const bucketCount = Math.max(1, Math.round(intervalMs / tickMs));
  const buckets = Array.from({ length: bucketCount }, () => new Set<Item>());
  let cursor = 0;
  let size = 0;

  return {
    add(item) {
      if (item.wheelSlot >= 0) return;
      const delay = intervalMs * (0.5 + 0.5 * random());
      const ticks = Math.min(bucketCount, Math.max(1, Math.ceil(delay / tickMs)));
      const slot = (cursor + ticks - 1) % bucketCount;
      buckets[slot]!.add(item);
      item.wheelSlot = slot;
      size += 1;
    },
    remove(item) {
      if (item.wheelSlot < 0) return;
      if (buckets[item.wheelSlot]!.delete(item)) size -= 1;
      item.wheelSlot = -1;
    },
    tick() {
      const due = [...buckets[cursor]!];
      cursor = (cursor + 1) % bucketCount;
      return due;
    },
    items: () => buckets.flatMap((bucket) => [...bucket]),
    get size() {
      return size;
    },
    tickMs,
  };
}

import type { CallEvent, EventSink } from '@calltrack/core';

/** An in-memory `EventSink` for tests: keeps every event, drops repeated ids like the bus does. */
export interface CollectingSink extends EventSink {
  /** Every event published and not a duplicate, in order. */
  readonly events: CallEvent[];
  /** How many publish calls were duplicates. */
  duplicates: number;
  /** Make the next publish calls fail with this error (until reset to undefined). */
  failWith: unknown;
}

/** Creates a {@link CollectingSink}. */
export function createCollectingSink(): CollectingSink {
  const seen = new Set<string>();
  const sink: CollectingSink = {
    events: [],
    duplicates: 0,
    failWith: undefined,
    async publish(event) {
      if (sink.failWith !== undefined) throw sink.failWith;
      if (seen.has(event.id)) {
        sink.duplicates += 1;
        return { duplicate: true };
      }
      seen.add(event.id);
      sink.events.push(event);
      return { duplicate: false };
    },
  };
  return sink;
}

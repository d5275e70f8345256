import type { CallEvent, EventSink } from '@calltrack/core';

/** A real in-memory sink for tests: keeps every event, reports repeats of an id as duplicates. */
export interface CollectingSink extends EventSink {
  readonly events: CallEvent[];
  /** Makes the next publishes throw `error` until reset with `undefined`. */
  failWith(error: unknown): void;
}

export function createCollectingSink(): CollectingSink {
  const events: CallEvent[] = [];
  const seen = new Set<string>();
  let failure: unknown;
  return {
    events,
    failWith(error) {
      failure = error;
    },
    async publish(event) {
      if (failure !== undefined) throw failure;
      if (seen.has(event.id)) return { duplicate: true };
      seen.add(event.id);
      events.push(event);
      return { duplicate: false };
    },
  };
}

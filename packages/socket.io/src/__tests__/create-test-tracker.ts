import type { EventBus } from '@calltrack/bus';
import type { ActiveCallsReader, CallEvent } from '@calltrack/core';
import { testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';

/** A real tracker on a bus, and the `ActiveCallsReader` calltrack reads it through. */
export interface TestTracker {
  /** Ingests an event (the tracker publishes it, with its call snapshot, to the bus). */
  ingest(event: CallEvent): Promise<unknown>;
  /** The tracker itself: a `CallTracker` is an `ActiveCallsReader`. */
  reader: ActiveCallsReader;
}

/** A memory-store `CallTracker` on `bus`, without logging, on the test events' clock. */
export function createTestTracker(bus: EventBus): TestTracker {
  const tracker = createCallTracker({ bus, clock: testEventClock(), logger: {} });
  return { ingest: (event) => tracker.ingest(event), reader: tracker };
}

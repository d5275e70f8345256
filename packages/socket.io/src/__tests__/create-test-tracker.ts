import type { EventBus } from '@calltrack/bus';
import type { ActiveCallsReader, CallEvent, CallSnapshot } from '@calltrack/core';
import { createCallTracker } from '@calltrack/tracker';

/** A real tracker on a bus, and the `ActiveCallsReader` calltrack reads it through. */
export interface TestTracker {
  /** Ingests an event (the tracker publishes it, with its call snapshot, to the bus). */
  ingest(event: CallEvent): Promise<unknown>;
  reader: ActiveCallsReader;
}

const newestFirst = (a: CallSnapshot, b: CallSnapshot): number =>
  Date.parse(b.startedAt ?? b.createdAt) - Date.parse(a.startedAt ?? a.createdAt);

/**
 * A memory-store `CallTracker` as the reader. Its cross-tenant listing merges the tenants this
 * helper saw ingested: the tracker gains its own `listActiveCallsAcrossTenants` on another
 * branch (wp-d-tracker), after which the tracker itself can be the reader.
 */
export function createTestTracker(bus: EventBus): TestTracker {
  const tracker = createCallTracker({ bus, logger: {} });
  const tenants = new Set<string>();
  return {
    async ingest(event) {
      tenants.add(event.tenantId);
      return tracker.ingest(event);
    },
    reader: {
      getCall: (tenantId, callId) => tracker.getCall(tenantId, callId),
      listActiveCalls: (tenantId, options) => tracker.listActiveCalls(tenantId, options),
      async listActiveCallsAcrossTenants(options = {}) {
        const lists = await Promise.all([...tenants].map((id) => tracker.listActiveCalls(id)));
        return lists
          .flat()
          .sort(newestFirst)
          .slice(0, options.limit ?? 1000);
      },
    },
  };
}

import {
  type ActiveCallsReader,
  type ActiveCallsSnapshotRead,
  readActiveCallsSnapshot,
} from '@calltrack/core';

/** The most calls an `active_calls` snapshot lists (the tracker's default `limit`). */
export const activeCallsLimit = 1000;

/**
 * Reads the active calls of a tenant (or of every tenant, `tenantId` undefined): at most
 * {@link activeCallsLimit}, newest first, and whether the limit left calls out.
 */
export function readActiveCalls(
  tracker: ActiveCallsReader,
  tenantId: string | undefined,
): Promise<ActiveCallsSnapshotRead> {
  return readActiveCallsSnapshot(tracker, tenantId, { limit: activeCallsLimit });
}

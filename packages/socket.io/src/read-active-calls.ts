import {
  type ActiveCallsReader,
  type ActiveCallsSnapshotRead,
  readActiveCallsSnapshot,
} from '@calltrack/core';

/**
 * Reads the active calls of a tenant (or of every tenant, `tenantId` undefined): at most
 * `limit` (`snapshotLimit`), newest first, and whether the limit left calls out.
 */
export function readActiveCalls(
  tracker: ActiveCallsReader,
  tenantId: string | undefined,
  limit: number,
): Promise<ActiveCallsSnapshotRead> {
  return readActiveCallsSnapshot(tracker, tenantId, { limit });
}

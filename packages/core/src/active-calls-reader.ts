import type { CallSnapshot } from './call-snapshot';

/**
 * Where transports read snapshots of active calls from: the SSE and Socket.IO snapshot, tRPC's
 * `activeCalls`, one call for Socket.IO's `call_data`. A `CallTracker` from `@calltrack/tracker`
 * (memory or Redis store) is one; any object with these methods will do.
 */
export interface ActiveCallsReader {
  /** The tenant's active calls, newest first. */
  listActiveCalls(
    tenantId: string,
    options?: { branchId?: string; limit?: number },
  ): Promise<CallSnapshot[]>;
  /** Every tenant's active calls, newest first: for principals with `allTenants`. */
  listActiveCallsAcrossTenants(options?: { limit?: number }): Promise<CallSnapshot[]>;
  /** One call of the tenant, active or recently ended; undefined for another tenant's call. */
  getCall(tenantId: string, callId: string): Promise<CallSnapshot | undefined>;
}

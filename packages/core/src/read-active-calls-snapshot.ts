import type { ActiveCallsReader } from './active-calls-reader';
import type { CallSnapshot } from './call-snapshot';

/** The most calls a tracker lists at once (its `limit` is 1–10,000). */
const trackerMaxLimit = 10_000;

/** The calls of one snapshot, and whether they are every active call of its view. */
export interface ActiveCallsSnapshotRead {
  calls: CallSnapshot[];
  /** False when the limit left active calls out (before any filter applied after it). */
  complete: boolean;
}

/**
 * Reads a transport's snapshot: at most `limit` active calls of `tenantId` (every tenant's when
 * undefined), newest first. One call more than the limit is asked for, so a list the limit cut
 * is told from one that merely fills it; at the tracker's largest limit that cannot be told, and
 * a full list counts as cut. `branchId` is the tracker's filter for one tenant; across tenants it
 * filters here, after the limit, so a cut list stays cut however few calls it leaves.
 * @internal Shared by `@calltrack/sse`, `@calltrack/socket.io` and `@calltrack/trpc`.
 */
export async function readActiveCallsSnapshot(
  tracker: Pick<ActiveCallsReader, 'listActiveCalls' | 'listActiveCallsAcrossTenants'>,
  tenantId: string | undefined,
  options: { limit: number; branchId?: string | undefined },
): Promise<ActiveCallsSnapshotRead> {
  const { limit, branchId } = options;
  const asked = Math.min(limit + 1, trackerMaxLimit);
  let calls =
    tenantId === undefined
      ? await tracker.listActiveCallsAcrossTenants({ limit: asked })
      : await tracker.listActiveCalls(tenantId, {
          limit: asked,
          ...(branchId === undefined ? {} : { branchId }),
        });
  const complete = calls.length < asked;
  if (calls.length > limit) calls = calls.slice(0, limit);
  if (tenantId === undefined && branchId !== undefined) {
    calls = calls.filter((call) => call.branchId === branchId);
  }
  return { calls, complete };
}

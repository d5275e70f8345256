import type { CallSnapshot, Principal } from '@calltrack/core';
import type { SseSnapshotSource } from './sse-handler-options';
import type { SseQuery } from './sse-query';

/** The most calls a tracker lists at once (its `limit` is 1–10,000). */
const trackerMaxLimit = 10_000;

/** The calls of one snapshot, and whether they are every active call the stream may see. */
export interface SnapshotCalls {
  calls: CallSnapshot[];
  /** False when the limit cut the list (before any filter applied here). */
  complete: boolean;
}

/**
 * Reads a stream's snapshot: at most `limit` active calls, newest first, filtered as the stream
 * asks. One call more than the limit is asked for, so a list the limit cut is told from one that
 * merely fills it; at the tracker's largest limit that cannot be told, and a full list counts as
 * cut. The filters that run here (`callIds`, an all-tenants `branchId`) run after the limit, so
 * a cut list stays cut however few calls they leave.
 */
export async function readSnapshotCalls(
  tracker: SseSnapshotSource,
  principal: Principal,
  query: SseQuery,
  limit: number,
): Promise<SnapshotCalls> {
  const asked = Math.min(limit + 1, trackerMaxLimit);
  let calls =
    principal.allTenants === true
      ? await tracker.listActiveCallsAcrossTenants({ limit: asked })
      : await tracker.listActiveCalls(principal.tenantId, {
          limit: asked,
          ...(query.branchId === undefined ? {} : { branchId: query.branchId }),
        });
  const complete = calls.length < asked;
  if (calls.length > limit) calls = calls.slice(0, limit);
  if (principal.allTenants === true && query.branchId !== undefined) {
    calls = calls.filter((call) => call.branchId === query.branchId);
  }
  if (query.callIds.length > 0) {
    const wanted = new Set(query.callIds);
    calls = calls.filter((call) => wanted.has(call.callId));
  }
  return { calls, complete };
}

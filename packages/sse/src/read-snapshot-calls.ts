import type { ActiveCallsReader, CallSnapshot, Principal } from '@calltrack/core';
import {
  type ActiveCallsSnapshotRead,
  newestCallFirst,
  readActiveCallsSnapshot,
} from '@calltrack/core/internal';
import type { SseSnapshotSource } from './sse-handler-options';
import type { SseQuery } from './sse-query';

/** Followed calls read from the tracker at once (a Redis tracker sends them together). */
const callReadBatch = 100;

/**
 * Reads a stream's snapshot: at most `limit` active calls, newest first, filtered as the stream
 * asks, and whether the limit left calls out. A tenant's stream that follows calls reads those
 * calls with `getCall` when the tracker has it, so the snapshot is exact however many other
 * calls are active. Otherwise (no `getCall`, or an all-tenants stream, whose call ids may name
 * a call of any tenant) the `callIds` filter runs after the limit, so a cut list stays cut
 * however few calls it leaves.
 */
export async function readSnapshotCalls(
  tracker: SseSnapshotSource,
  principal: Principal,
  query: SseQuery,
  limit: number,
): Promise<ActiveCallsSnapshotRead> {
  const { callIds } = query;
  if (
    callIds.length > 0 &&
    principal.allTenants !== true &&
    typeof tracker.getCall === 'function'
  ) {
    return readFollowedCalls(
      tracker as Pick<ActiveCallsReader, 'getCall'>,
      principal.tenantId,
      query,
      limit,
    );
  }
  const read = await readActiveCallsSnapshot(
    tracker,
    principal.allTenants === true ? undefined : principal.tenantId,
    { limit, branchId: query.branchId },
  );
  if (callIds.length === 0) return read;
  const wanted = new Set(callIds);
  return { ...read, calls: read.calls.filter((call) => wanted.has(call.callId)) };
}

/** The followed calls of one tenant that are active (and of the stream's branch). */
async function readFollowedCalls(
  tracker: Pick<ActiveCallsReader, 'getCall'>,
  tenantId: string,
  query: SseQuery,
  limit: number,
): Promise<ActiveCallsSnapshotRead> {
  const { callIds, branchId } = query;
  const calls: CallSnapshot[] = [];
  for (let index = 0; index < callIds.length; index += callReadBatch) {
    const batch = callIds.slice(index, index + callReadBatch);
    // `getCall` also answers recently ended calls: a snapshot lists active ones only.
    for (const call of await Promise.all(batch.map((id) => tracker.getCall(tenantId, id)))) {
      if (call?.active !== true) continue;
      if (branchId !== undefined && call.branchId !== branchId) continue;
      calls.push(call);
    }
  }
  calls.sort(newestCallFirst);
  return { calls: calls.slice(0, limit), complete: calls.length <= limit };
}

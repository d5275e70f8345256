import {
  type ActiveCallsSnapshotRead,
  type Principal,
  readActiveCallsSnapshot,
} from '@calltrack/core';
import type { SseSnapshotSource } from './sse-handler-options';
import type { SseQuery } from './sse-query';

/**
 * Reads a stream's snapshot: at most `limit` active calls, newest first, filtered as the stream
 * asks, and whether the limit left calls out. The `callIds` filter runs after the limit, so a
 * cut list stays cut however few calls it leaves.
 */
export async function readSnapshotCalls(
  tracker: SseSnapshotSource,
  principal: Principal,
  query: SseQuery,
  limit: number,
): Promise<ActiveCallsSnapshotRead> {
  const read = await readActiveCallsSnapshot(
    tracker,
    principal.allTenants === true ? undefined : principal.tenantId,
    { limit, branchId: query.branchId },
  );
  if (query.callIds.length === 0) return read;
  const wanted = new Set(query.callIds);
  return { ...read, calls: read.calls.filter((call) => wanted.has(call.callId)) };
}

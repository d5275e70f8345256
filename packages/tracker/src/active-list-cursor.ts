import type { ListActiveCallsQuery } from './call-store';

/**
 * Where a list of active calls starts, in its order (newest `startedAt` first, ties by call id
 * from the highest): after the call `callId` that started at `startedAt` (ms). An empty `callId`
 * stands before every call of that start: `startedBefore` is the cursor `{ startedBefore, '' }`.
 */
export interface ActiveListCursor {
  startedAt: number;
  callId: string;
}

/** Whether the call `callId` that started at `startedAt` comes after `cursor` in the list. */
export function isListedAfter(
  startedAt: number,
  callId: string,
  cursor: ActiveListCursor,
): boolean {
  return startedAt < cursor.startedAt || (startedAt === cursor.startedAt && callId < cursor.callId);
}

/** The cursor of a query's `after` and `startedBefore`: the stricter one; undefined for none. */
export function activeListCursorOf(query: ListActiveCallsQuery): ActiveListCursor | undefined {
  const { after, startedBefore } = query;
  if (startedBefore === undefined) return after;
  if (after !== undefined && after.startedAt < startedBefore) return after;
  return { startedAt: startedBefore, callId: '' };
}

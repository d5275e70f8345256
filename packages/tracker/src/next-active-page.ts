import type { CallSnapshot } from '@calltrack/core';

/** `listActiveCalls`' page size when the query names no `limit`. */
export const defaultActiveListLimit = 1000;

/**
 * Where `GET /calls/active` reads on after a full page: its last call, as the query parameters
 * `afterCallId` and `afterStartedAt` take it. A call without `startedAt` is listed as if it started
 * at 0, so the epoch names the same position.
 */
export function nextPageAfter(last: CallSnapshot): { afterCallId: string; afterStartedAt: string } {
  return {
    afterCallId: last.callId,
    afterStartedAt: last.startedAt ?? new Date(0).toISOString(),
  };
}

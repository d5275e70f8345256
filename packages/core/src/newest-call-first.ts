import type { CallSnapshot } from './call-snapshot';

/**
 * The order of active-call lists: the newest `startedAt` (else `createdAt`) first, ties by call
 * id descending, as every call store lists them. A `sort` comparator.
 * @internal Shared by `@calltrack/tracker` (lists across tenants) and `@calltrack/sse` (the calls
 * a stream follows), which merge lists the stores ordered.
 */
export function newestCallFirst(a: CallSnapshot, b: CallSnapshot): number {
  return (
    Date.parse(b.startedAt ?? b.createdAt) - Date.parse(a.startedAt ?? a.createdAt) ||
    (a.callId < b.callId ? 1 : a.callId > b.callId ? -1 : 0)
  );
}

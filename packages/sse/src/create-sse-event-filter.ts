import type { CallEvent } from '@calltrack/core';
import type { SseQuery } from './sse-query';

/**
 * The filter of one stream, from its query: its call ids, event types (an entry ending in `.*`
 * matches a prefix, as on the bus) and branch. Undefined when the stream takes every event, so
 * the common case costs nothing per event.
 */
export function createSseEventFilter(
  query: Pick<SseQuery, 'callIds' | 'types' | 'branchId'>,
): ((event: CallEvent) => boolean) | undefined {
  const { callIds, types, branchId } = query;
  if (callIds.length === 0 && types.length === 0 && branchId === undefined) return undefined;
  const calls = callIds.length > 0 ? new Set(callIds) : undefined;
  const exact = new Set(types.filter((type) => !type.endsWith('.*')));
  const prefixes = types.filter((type) => type.endsWith('.*')).map((type) => type.slice(0, -1));
  const anyType = types.length === 0;
  return (event) =>
    (calls === undefined || (event.callId !== undefined && calls.has(event.callId))) &&
    (branchId === undefined || event.branchId === branchId) &&
    (anyType || exact.has(event.type) || prefixes.some((prefix) => event.type.startsWith(prefix)));
}

import type { CallEvent } from '@calltrack/core';

/**
 * Which events a listener wants: a call id and/or event types (`call.ended`, or `call.*` for a
 * prefix), or a predicate. An empty filter matches every event.
 */
export type CallEventFilter =
  | { callId?: string; types?: readonly string[] }
  | ((event: CallEvent) => boolean);

/** True when `event` passes `filter`. */
export function matchesCallEventFilter(
  filter: CallEventFilter | undefined,
  event: CallEvent,
): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(event);
  if (filter.callId !== undefined && event.callId !== filter.callId) return false;
  if (filter.types && filter.types.length > 0) {
    return filter.types.some((type) =>
      type.endsWith('.*') ? event.type.startsWith(type.slice(0, -1)) : event.type === type,
    );
  }
  return true;
}

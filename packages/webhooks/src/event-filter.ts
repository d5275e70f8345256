import { type CallEvent, isUserAddressedEvent } from '@calltrack/core';

/** Most entries an endpoint's event filter may have. */
export const maxEventFilterEntries = 64;

/**
 * Why an endpoint's `events` filter cannot be accepted, or undefined when it can. An entry is `*`
 * (every event), an exact type from `knownTypes`, or a prefix wildcard (`call.*`, `alert.*`)
 * that covers at least one of them: a typo never turns into an endpoint that silently receives
 * nothing.
 */
export function checkEventFilter(
  events: readonly unknown[],
  knownTypes: readonly string[],
): string | undefined {
  if (events.length === 0) return 'must list at least one event type (or "*" for all)';
  if (events.length > maxEventFilterEntries) {
    return `may list at most ${maxEventFilterEntries} event types`;
  }
  for (const entry of events) {
    if (typeof entry !== 'string' || entry.length === 0 || entry.length > 64) {
      return 'entries must be event types of 1 to 64 characters';
    }
    if (entry === '*') continue;
    if (entry.endsWith('.*')) {
      const prefix = entry.slice(0, -1);
      if (!knownTypes.some((type) => type.startsWith(prefix))) {
        return `"${entry}" matches no known event type`;
      }
      continue;
    }
    if (!knownTypes.includes(entry)) return `"${entry}" is not a known event type`;
  }
  return undefined;
}

/** Whether an event type passes a filter that {@link checkEventFilter} accepted. */
export function matchesEventFilter(events: readonly string[], type: string): boolean {
  for (const entry of events) {
    if (entry === '*' || entry === type) return true;
    if (entry.endsWith('.*') && type.startsWith(entry.slice(0, -1))) return true;
  }
  return false;
}

/**
 * Whether an endpoint whose filter is `events` takes `event`. A user-addressed event (core's
 * `isUserAddressedEvent`: presence's `user.message`, meant for one user and nobody else) goes
 * only to an endpoint that names its type exactly; `*` and prefix wildcards (`user.*`) never
 * pick it up, so a catch-all endpoint does not receive every user's private messages.
 */
export function endpointTakesEvent(events: readonly string[], event: CallEvent): boolean {
  return isUserAddressedEvent(event)
    ? events.includes(event.type)
    : matchesEventFilter(events, event.type);
}

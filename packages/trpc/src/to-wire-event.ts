import type { CallEvent } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';

type Cached = { event: CallEvent; error?: undefined } | { event?: undefined; error: Error };

const cache = new WeakMap<CallEvent, Cached>();

/**
 * The event as plain JSON data: what tRPC then serializes for every subscriber without a chance
 * to fail. An event that cannot be serialized (a throwing `toJSON` or getter, nesting too deep
 * for `JSON.stringify`) throws here, in calltrack's hands, instead of inside tRPC's response
 * stream, where it would end the subscription and make the client resume onto the same event
 * again. Done once per event, shared by every subscriber (a `WeakMap` keyed by the event), and
 * a failure is remembered too (as one `Error`, so it is reported once).
 */
export function toWireEvent(event: CallEvent): CallEvent {
  const cached = cache.get(event);
  if (cached !== undefined) {
    if (cached.error !== undefined || cached.event === undefined) throw cached.error;
    return cached.event;
  }
  let wire: CallEvent;
  try {
    wire = JSON.parse(JSON.stringify(event)) as CallEvent;
  } catch (thrown) {
    const error = toError(thrown);
    cache.set(event, { error });
    throw error;
  }
  cache.set(event, { event: wire });
  return wire;
}

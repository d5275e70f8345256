import { type CallEvent, InvalidEventError, isSealedCallEvent } from '@calltrack/core';

/**
 * The JSON of sealed events a Redis bus wrote, so an event published through several buses (or
 * again) is written once: a sealed event is frozen, so its JSON cannot change.
 */
const sealedJson = new WeakMap<CallEvent, string>();

/**
 * The event's JSON, for a Redis bus. `JSON.stringify` cannot throw on an event the schema
 * accepted (it refuses BigInts, cycles, throwing `toJSON`, values nested too deep), but a value
 * with a getter or a proxy could still throw here: that is the caller's bad input, a 400, never
 * a 500 that makes a provider retry forever.
 */
export function callEventJson(event: CallEvent): string {
  const sealed = isSealedCallEvent(event);
  if (sealed) {
    const known = sealedJson.get(event);
    if (known !== undefined) return known;
  }
  let json: string;
  try {
    json = JSON.stringify(event);
  } catch (error) {
    throw new InvalidEventError({
      issues: [{ field: '', message: 'cannot be serialized as JSON' }],
      cause: error,
    });
  }
  if (sealed) sealedJson.set(event, json);
  return json;
}

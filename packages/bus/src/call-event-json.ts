import { type CallEvent, InvalidEventError } from '@calltrack/core';

/**
 * The event's JSON, for a Redis bus. `JSON.stringify` cannot throw on an event the schema
 * accepted (it refuses BigInts, cycles, throwing `toJSON`, values nested too deep), nor on a
 * sealed one (plain frozen data), but a plain event with a getter or a proxy could still throw
 * here: that is the caller's bad input, a 400, never a 500 that makes a provider retry forever.
 * (Not cached per sealed event: a weak map entry per event costs the garbage collector more than
 * writing the JSON of the rare event published twice.)
 */
export function callEventJson(event: CallEvent): string {
  try {
    return JSON.stringify(event);
  } catch (error) {
    throw new InvalidEventError({
      issues: [{ field: '', message: 'cannot be serialized as JSON' }],
      cause: error,
    });
  }
}

/**
 * Where an event sits in its call's timeline: by `occurredAt`, then, at the same time, by the
 * provider's `sequence` (an event without one first), then by event id. It is a total order (the
 * same events sort the same way, whatever order they arrived in), so every store keeps the same
 * detail. The sequence orders the events a provider stamps with the same time (Twilio's
 * `Timestamp` has whole seconds); it does not override times (decision 0074).
 */
export interface CallPosition {
  sequence?: number;
  /** `occurredAt` in milliseconds since the epoch. */
  at: number;
  eventId: string;
}

/**
 * Compares two positions: negative when `a` comes first, positive when `b` does, 0 for the same
 * event. Ids are compared by code point, the order of their UTF-8 bytes, which the Redis store
 * compares (JavaScript's `<` compares UTF-16 code units: it puts U+1F600 before U+FF01).
 */
export function compareCallPositions(a: CallPosition, b: CallPosition): number {
  if (a.at !== b.at) return a.at - b.at;
  // Comparing by the sequence only when both have one, and by time otherwise, was not
  // transitive: (seq 1, +10 s) < (seq 2, +0 s) < (none, +5 s) < (seq 1, +10 s).
  if (a.sequence !== b.sequence) {
    if (a.sequence === undefined) return -1;
    if (b.sequence === undefined) return 1;
    return a.sequence - b.sequence;
  }
  return compareByCodePoint(a.eventId, b.eventId);
}

function compareByCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x === y) continue;
    // Code units order as code points except a surrogate (a code point above U+FFFF) against a
    // unit from U+E000 up: event ids hold no lone surrogates (core's isKeyText).
    const xHigh = x >= 0xd800 && x <= 0xdfff;
    const yHigh = y >= 0xd800 && y <= 0xdfff;
    if (xHigh !== yHigh) return xHigh ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

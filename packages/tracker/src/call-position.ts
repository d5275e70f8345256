/**
 * Where an event sits in its call's timeline: the provider's `sequence` when both events being
 * compared have one, else `occurredAt`, and the event id to break ties, so every store orders
 * the same events the same way whatever order they arrived in.
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
  if (a.sequence !== undefined && b.sequence !== undefined && a.sequence !== b.sequence) {
    return a.sequence - b.sequence;
  }
  if (a.at !== b.at) return a.at - b.at;
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

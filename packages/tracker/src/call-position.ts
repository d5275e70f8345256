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
 * event. Ids are compared by UTF-16 code unit (the Redis store compares bytes; event ids are
 * ASCII in practice).
 */
export function compareCallPositions(a: CallPosition, b: CallPosition): number {
  if (a.sequence !== undefined && b.sequence !== undefined && a.sequence !== b.sequence) {
    return a.sequence - b.sequence;
  }
  if (a.at !== b.at) return a.at - b.at;
  if (a.eventId === b.eventId) return 0;
  return a.eventId < b.eventId ? -1 : 1;
}

/**
 * When the test events happen: `makeCallEvent`'s `occurredAt`, and the epoch of the packages'
 * own event helpers (2026-11-21T10:00:00.000Z).
 */
export const testEventEpoch = Date.parse('2026-11-21T10:00:00.000Z');

/**
 * A clock (a calltrack `Clock`: `now()` in ms since the epoch) that reads `start` when it is made and runs at real speed from
 * there. For a tracker fed with test events dated around `start`: on the wall clock it would take
 * events older than its `endedCallRetentionMs` for replays of calls it no longer keeps and drop
 * them, while leases, timeouts and Redis expiries still need real time to pass.
 */
export function clockFrom(start: number | string): { now(): number } {
  const startMs = typeof start === 'string' ? Date.parse(start) : start;
  const madeAt = Date.now();
  return { now: () => startMs + (Date.now() - madeAt) };
}

/** A tracker clock for test events: {@link clockFrom} {@link testEventEpoch}. */
export function testEventClock(): { now(): number } {
  return clockFrom(testEventEpoch);
}

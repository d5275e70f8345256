import { randomUUID } from 'node:crypto';

const prefix = 'calltrack:start:';

/**
 * A position that names the start of one tenant channel's stream in this process, for a snapshot
 * taken when the channel has no bus cursor: the bus has no `position()` (a bus of your own), or
 * the channel lost continuity (a `reset`) and has emitted nothing since. A client that resumes
 * with it on the same channel gets every event the channel emitted since; anywhere else it gets
 * `reset`. Never a bus cursor, so the bus never mistakes one for the other.
 */
export function createStartPosition(): string {
  return `${prefix}${randomUUID()}`;
}

/** True for a position made by {@link createStartPosition} (of any channel, live or gone). */
export function isStartPosition(cursor: string): boolean {
  return cursor.startsWith(prefix);
}

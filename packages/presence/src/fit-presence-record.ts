import { callEventLimits } from '@calltrack/core';
import type { PresenceRecord, StoredConnection } from './presence-record';

/**
 * Most characters a connection takes in an event's snapshot besides its data: its id (up to 128
 * characters, each an escape at worst), two ISO times, its status and leaving flag, the field
 * names. About 400 at most.
 */
export const connectionLengthBound = 512;

/**
 * Most characters of a presence event's `data` besides its connections: the tenant and user ids
 * and the state (escapes included), `since`, `version`, the statuses, the field names. About
 * 1,100 at most.
 */
export const snapshotLengthBound = 2048;

/** Most characters of an event's `data` as JSON: the bus refuses more. */
export const maxEventDataLength = callEventLimits.data.maxLength;

/** An upper bound on the length of a snapshot of `connections` as an event's `data`. */
function snapshotLength(connections: readonly StoredConnection[]): number {
  let length = snapshotLengthBound;
  for (const connection of connections) {
    length += connectionLengthBound + (connection.data?.length ?? 0);
  }
  return length;
}

function withoutData(connection: StoredConnection): StoredConnection {
  const { data: _, ...rest } = connection;
  return rest;
}

/**
 * The record as an event carries it. Unchanged when it surely fits the bus's limit on `data`:
 * the settings guarantee that for every record made under them (see `resolvePresenceSettings`).
 * Processes sharing a store with other settings (a rolling deploy) or a store that keeps more
 * than `maxConnectionsPerUser` connections may make a larger one: it then leaves out the data of
 * leaving connections, else every connection's data and the newest connections past what fits.
 * A smaller snapshot beats a transition the bus refuses, which no board would ever learn of. It
 * depends on the record only, so every republish of a transition is the same event.
 */
export function fitPresenceRecord(record: PresenceRecord): PresenceRecord {
  if (snapshotLength(record.connections) <= maxEventDataLength) return record;
  const leavingWithoutData = record.connections.map((connection) =>
    connection.leaving ? withoutData(connection) : connection,
  );
  if (snapshotLength(leavingWithoutData) <= maxEventDataLength) {
    return { ...record, connections: leavingWithoutData };
  }
  const fitting = Math.floor((maxEventDataLength - snapshotLengthBound) / connectionLengthBound);
  return { ...record, connections: record.connections.slice(0, fitting).map(withoutData) };
}

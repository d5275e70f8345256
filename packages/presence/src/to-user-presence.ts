import type { UserPresence } from '@calltrack/core';
import type { PresenceRecord } from './presence-record';

/**
 * A store's record as the {@link UserPresence} users see, as of `at`: connections that expired
 * by then are left out, each connection's status is computed at `at`, data is parsed.
 */
export function toUserPresence(
  record: PresenceRecord,
  at: number,
  initialState: string,
): UserPresence {
  return {
    tenantId: record.tenantId,
    userId: record.userId,
    status: record.status,
    state: record.state ?? initialState,
    ...(record.since === undefined ? {} : { since: new Date(record.since).toISOString() }),
    version: record.version,
    connections: record.connections
      .filter((connection) => connection.expiresAt > at)
      .map((connection) => ({
        connectionId: connection.connectionId,
        status: !connection.away && connection.idleAt > at ? 'online' : 'away',
        leaving: connection.leaving,
        connectedAt: new Date(connection.connectedAt).toISOString(),
        lastSeenAt: new Date(connection.lastSeenAt).toISOString(),
        ...(connection.data === undefined ? {} : { data: JSON.parse(connection.data) as unknown }),
      })),
  };
}

/** The snapshot of a user presence has never seen (or has forgotten). */
export function unknownUserPresence(
  tenantId: string,
  userId: string,
  initialState: string,
): UserPresence {
  return { tenantId, userId, status: 'offline', state: initialState, version: 0, connections: [] };
}

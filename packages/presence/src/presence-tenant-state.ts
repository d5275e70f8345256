import type { PresenceStatus } from '@calltrack/core';
import type { PresenceRecord, StoredConnection } from './presence-record';
import type { PresenceTransition } from './presence-transition';
import type { QueuedMessage } from './queued-message';

/** One user as the memory store keeps it (the Redis store keeps the same in a hash). */
export interface PresenceUserState {
  userId: string;
  status: PresenceStatus;
  state?: string;
  /** When `state` was set (see {@link PresenceRecord.stateAt}). */
  stateAt?: number;
  since?: number;
  version: number;
  epoch: number;
  connections: Map<string, MemoryConnection>;
  /** The next time the status can change without an operation (an expiry, an idle). */
  nextDeadline?: number;
  /** The offline queue, oldest first. */
  queue: QueuedMessage[];
  /** The last sequence number given to a message. */
  lastSequence: number;
  /** Messages dropped from the queue, in total. */
  dropped: number;
  /** The lease deadline of the current delivery claim (its token), if any. */
  deliveryLease?: number;
  /** When an offline user's record is forgotten. */
  forgetAt?: number;
}

/** A connection as the memory store keeps it: with the token of its life (never in a record). */
export interface MemoryConnection extends StoredConnection {
  /** The token of the `connect` that registered this life of the connection, if it had one. */
  token?: string;
}

/** One tenant as the memory store keeps it. */
export interface PresenceTenantState {
  tenantId: string;
  users: Map<string, PresenceUserState>;
  /** Decided transitions not confirmed yet, with their lease deadline. */
  outbox: Map<string, { deadline: number; transition: PresenceTransition }>;
}

/**
 * A new user record: offline, created at `at`. Its version starts at `at`, not 0: a user's record
 * is forgotten after `offlineRetentionMs`, and the events of a record made again must still
 * number above the forgotten one's, which clients kept (they keep the highest version).
 */
export function createPresenceUserState(userId: string, at: number): PresenceUserState {
  return {
    userId,
    status: 'offline',
    version: at,
    epoch: at,
    connections: new Map(),
    queue: [],
    lastSequence: 0,
    dropped: 0,
  };
}

/** Orders connections oldest first, ties by id: every store reports them in this order. */
export function compareConnections(a: StoredConnection, b: StoredConnection): number {
  if (a.connectedAt !== b.connectedAt) return a.connectedAt - b.connectedAt;
  return a.connectionId < b.connectionId ? -1 : a.connectionId > b.connectionId ? 1 : 0;
}

/** A copy of the user as a {@link PresenceRecord}, connections oldest first. */
export function toPresenceRecord(tenantId: string, user: PresenceUserState): PresenceRecord {
  return {
    tenantId,
    userId: user.userId,
    status: user.status,
    ...(user.state === undefined ? {} : { state: user.state }),
    ...(user.stateAt === undefined ? {} : { stateAt: user.stateAt }),
    ...(user.since === undefined ? {} : { since: user.since }),
    version: user.version,
    epoch: user.epoch,
    connections: [...user.connections.values()]
      .map(({ token: _token, ...connection }) => connection)
      .sort(compareConnections),
  };
}

import type { PresenceStatus } from '@calltrack/core';

/** One connection as a store keeps it; times are milliseconds since the epoch. */
export interface StoredConnection {
  connectionId: string;
  /** When this incarnation of the connection started. */
  connectedAt: number;
  /** Its last heartbeat. */
  lastSeenAt: number;
  /** When it is gone: `connectionTtlMs` after a heartbeat, `leaveDelayMs` after a disconnect. */
  expiresAt: number;
  /** When it counts as away for lack of heartbeats (`awayAfterMs` after one). */
  idleAt: number;
  /** Set away by the app. */
  away: boolean;
  /** Disconnected, waiting out the leave delay. */
  leaving: boolean;
  /** Its data as JSON text, if any. */
  data?: string;
}

/** A user as a store keeps it: the decided status and the connections it was decided from. */
export interface PresenceRecord {
  tenantId: string;
  userId: string;
  /** The status last decided (and published) for the user. */
  status: PresenceStatus;
  /** The app-set state, if one was set. */
  state?: string;
  /**
   * When `state` was set (the `state` operation's `at`, or the `stateAt` a `connect` restored).
   * Absent for a record whose state came without a time.
   */
  stateAt?: number;
  /** When `status` last changed. */
  since?: number;
  /** How many `presence.*` transitions were decided for this incarnation of the user. */
  version: number;
  /** When the store created this incarnation of the user (part of event ids). */
  epoch: number;
  /** Connections, oldest first (ties: by id). May include expired ones a read has not removed. */
  connections: StoredConnection[];
}

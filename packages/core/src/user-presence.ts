import type { PresenceStatus } from './presence-status';

/** One connection of a user (a tab, a device, a socket), as presence reports it. */
export interface PresenceMember {
  /** The connection's id: yours, or a random UUID when `connect` was not given one. */
  connectionId: string;
  /**
   * `online` while it heartbeats and is not set away; `away` when it missed its heartbeats for
   * `awayAfterMs` or the app set it away.
   */
  status: 'online' | 'away';
  /** Disconnected, and gone once `leaveDelayMs` has passed unless it reconnects first. */
  leaving: boolean;
  /** When this connection (re)connected (ISO 8601). */
  connectedAt: string;
  /** Its last heartbeat (ISO 8601). */
  lastSeenAt: string;
  /** What `connect({ data })` or `update(data)` attached to it, if anything. */
  data?: unknown;
}

/**
 * What presence knows about one user: the snapshot `getPresence` and `listMembers` return and
 * every `presence.*` event carries in `data.presence`.
 */
export interface UserPresence {
  tenantId: string;
  userId: string;
  status: PresenceStatus;
  /** The app-set state (`available`, `break`, `wrap-up`…); `initialState` until one is set. */
  state: string;
  /** When `status` last changed (ISO 8601); absent for a user presence has never seen. */
  since?: string;
  /**
   * Grows with every `presence.*` event of the user: of two snapshots of one user, keep the one
   * with the higher version (events from different processes may arrive out of order). 0 for a
   * user presence has never seen.
   */
  version: number;
  /** The user's connections, oldest first; empty when offline. */
  connections: PresenceMember[];
  /**
   * Ids of the active calls the user is on (by `agentId` or `userId`), when presence was given
   * `calls` (a tracker). Only in answers of `getPresence`, `listMembers` and `listAvailable`.
   */
  calls?: string[];
}

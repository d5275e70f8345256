import type { Principal } from './principal';
import type { UserPresence } from './user-presence';

/** One connection registered with presence, as a transport holds it. */
export interface PresenceRegistration {
  /** Proves the connection is alive: transports call it on their keepalive. */
  heartbeat(): Promise<void>;
  /** The connection closed: it leaves after presence's leave delay. */
  disconnect(): Promise<void>;
}

/**
 * What the transports (SSE, Socket.IO, tRPC) need of presence to register their connections and
 * send a members snapshot. `createPresence()` from `@calltrack/presence` is one; declared here
 * so the transports do not depend on that package.
 */
export interface ConnectionPresence {
  /** Registers a connection of `principal` (which has a `userId`). */
  connect(principal: Principal, options?: { connectionId?: string }): Promise<PresenceRegistration>;
  /**
   * The tenant's connected users (online and away), by user id: at most `limit` (the transports
   * ask for one more than they send, to tell whether the list is cut).
   */
  listMembers(tenantId: string, options?: { limit?: number }): Promise<UserPresence[]>;
  /**
   * Optional: the connected users of every tenant, each with its `tenantId`, at most `limit`,
   * for the members snapshot of a stream of every tenant (an `allTenants` principal).
   * `createPresence()` has it. Without it such a stream is told that presence is not available
   * on it (`presence-unavailable`).
   */
  listMembersAcrossTenants?(options: { limit?: number }): Promise<UserPresence[]>;
}

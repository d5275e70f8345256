import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import type { CallTrackConnectionError } from './call-track-connection-error';

/**
 * The connection, as `useConnectionState` returns it. The same object until the connection
 * opens or closes, so its readers re-render only then (not on every event).
 */
export interface CallTrackConnectionState {
  /** True while the transport's connection is open. */
  isConnected: boolean;
  /** True while the transport is retrying after a drop. */
  reconnecting: boolean;
  /**
   * Why the transport stopped for good, while it has (`isConnected` and `reconnecting` false):
   * the server refused the connection (a 401 or 403, a refused Socket.IO handshake) or closed
   * it. Undefined while connecting, open or reconnecting, and after the app disconnected.
   */
  error?: CallTrackConnectionError;
}

/** One tenant's part of {@link CallTrackPresenceState.byTenant}. */
export interface CallTrackTenantPresence {
  /** The tenant's connected users (online and away), by user id. The same array until it changes. */
  members: readonly UserPresence[];
  /**
   * Every user of the tenant reported, by user id, offline ones included while the client keeps
   * them (the client's `presence` option: five minutes, at most 1,000, by default).
   */
  users: ReadonlyMap<string, UserPresence>;
  /** The tenant's users online and away; the same object until a count changes. */
  count: { online: number; away: number };
}

/**
 * Presence, as the transport reports it (a server with the `presence` option): a members
 * snapshot, then the `presence.*` events. A tenant's stream holds its tenant; a stream of every
 * tenant (an `allTenants` principal, an operations console) holds every tenant's, told apart by
 * tenant (`byTenant`): two tenants' users may share a user id. The same object until presence
 * changes.
 */
export interface CallTrackPresenceState {
  /**
   * Connected users (online and away), by tenant id, then user id (by user id on a tenant's
   * stream). The same array until it changes.
   */
  members: readonly UserPresence[];
  /**
   * Every user presence reported, by user id, including those who went offline since (status
   * `offline`) for as long as the client keeps them (its `presence` option: five minutes after
   * they went, at most 1,000 of them, by default; dropped at the next presence change after
   * that). A user's object keeps its identity until their presence changes. On a stream of
   * every tenant a user id may name users of several tenants: it names the one of the first
   * tenant by id here; read `byTenant` instead.
   */
  users: ReadonlyMap<string, UserPresence>;
  /**
   * Each tenant's users, by tenant id: one entry on a tenant's stream, every tenant with a user
   * reported on a stream of every tenant. A tenant's object keeps its identity until its users
   * change.
   */
  byTenant: ReadonlyMap<string, CallTrackTenantPresence>;
  /** Users online and away (of every tenant the stream sees); the same object until a count changes. */
  count: { online: number; away: number };
  /** True once a members snapshot has arrived (false again after a reset, until the next). */
  isLoaded: boolean;
  /**
   * False when the last members snapshot was cut at the server's `presenceSnapshotLimit` (1,000
   * users unless set): connected users it left out appear with their next `presence.*` event. True otherwise, and before any.
   */
  isComplete: boolean;
  /**
   * False when the server said this stream gets no presence members: a stream of every tenant
   * from a server whose presence cannot list every tenant (a `ConnectionPresence` of its own
   * without `listMembersAcrossTenants`). `members` and `users` then stay empty and `isLoaded`
   * false for good (not "loading"): show that presence is not available here. True until the
   * server says so (and with a server without presence, which says nothing).
   */
  isAvailable: boolean;
}

/**
 * Everything the client store holds; immutable, replaced on every change (so it works with
 * `useSyncExternalStore`). Parts that did not change keep their identity: the same
 * `connection` object, the same call objects.
 */
export interface CallTrackState {
  connection: CallTrackConnectionState;
  /** The active calls, newest first (by `startedAt`, else `createdAt`). */
  activeCalls: readonly CallSnapshot[];
  /**
   * Calls a component watches without naming a tenant (`watchCall(callId)` / `useCall(callId)`),
   * by call id: kept after they end, while they are watched. Undefined until the call is known, and again when it is no longer known: it
   * was active, events were missed (a reset), the reloaded active calls no longer list it, and it
   * could not be read again (no `api`, or the tracker does not know it). Without `api`, a
   * snapshot the server cut at its limit (`complete: false`) leaves the call as it was.
   */
  watchedCalls: ReadonlyMap<string, CallSnapshot | undefined>;
  /**
   * Calls watched with their tenant (`watchCall(callId, { tenantId })` / `useCall(callId, {
   * tenantId })`, for a client that sees every tenant), by tenant id, then by call id; kept and
   * forgotten as `watchedCalls` are.
   */
  watchedCallsByTenant: ReadonlyMap<string, ReadonlyMap<string, CallSnapshot | undefined>>;
  /** True once a snapshot of the active calls has arrived. */
  hasSnapshot: boolean;
  /** The last call event received (it changes with every event). */
  lastEvent: CallEvent | undefined;
  /** The bus cursor of the last call event received, when the transport carries it. */
  lastCursor: string | undefined;
  /**
   * The `alert.*` events received (the tracker's alerts), newest first, at most the client's
   * `maxAlerts`, minus the dismissed ones. The same array until it changes.
   */
  alerts: readonly CallEvent[];
  /** Presence of the users the stream sees; empty and not loaded with a server without presence. */
  presence: CallTrackPresenceState;
  /** The signed-in user, as the client was told (`createCallTrackClient({ userId })`). */
  userId: string | undefined;
}

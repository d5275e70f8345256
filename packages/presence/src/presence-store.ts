import type { PresenceRecord } from './presence-record';
import type { PresenceTransition } from './presence-transition';
import type { MessageDelivery } from './queued-message';

/**
 * The timings and bounds a store applies. Every process sharing a store must pass the same
 * ones; `createPresence` resolves them from its options.
 */
export interface PresenceStoreSettings {
  /** A connection not heartbeated for this long is gone. */
  connectionTtlMs: number;
  /** A connection not heartbeated for this long counts as away. */
  awayAfterMs: number;
  /** How long a disconnected connection still counts (a page reload emits nothing). */
  leaveDelayMs: number;
  /** How long a decided transition or a message claim is leased to the process that made it. */
  publishLeaseMs: number;
  /** How long an offline user's record (state, version) is kept. */
  offlineRetentionMs: number;
  /**
   * Most connections per user, leaving ones included: a new one takes the place of the one
   * leaving longest, and is refused when none is leaving.
   */
  maxConnectionsPerUser: number;
  /** Most messages in a user's offline queue; the oldest are dropped first. */
  queueMaxMessages: number;
  /** Oldest message kept in a queue (ms). */
  queueMaxAgeMs: number;
  /** Most messages handed out per delivery claim. */
  deliveryBatchSize: number;
}

/** What every {@link PresenceOperation} carries. */
export interface PresenceOperationBase {
  tenantId: string;
  userId: string;
  /** The time of the operation (ms), from the caller's clock. */
  at: number;
  settings: PresenceStoreSettings;
  /** Return the user's record after the operation (`record` in the result). */
  read?: boolean;
}

/**
 * One change to one user, applied atomically: the store settles the user (drops expired
 * connections, recomputes the status), decides at most one transition, and claims the user's
 * queued messages for delivery when they are reachable (a connection not leaving) and nobody else
 * delivers them.
 *
 * - `connect`: adds (or re-registers) a connection; `data` is its JSON. At
 *   `maxConnectionsPerUser` a new one drops the connection leaving longest (`limit` when none is
 *   leaving). `state` is the user's state as the connection last knew it and `stateAt` when it
 *   was set (the store lost the record, e.g. Redis restarted empty, and a live connection
 *   registers again): the record takes it when it has no state, or one set before `stateAt`
 *   (another connection of the user, back first, knew an older one). A `state` without `stateAt`
 *   only fills a record without a state.
 * - `heartbeat`: refreshes a connection; an expired one that was not removed yet is revived.
 * - `update`: replaces a live connection's data (`presence.updated` when it changed).
 * - `away`: sets or clears a live connection's app-set away flag.
 * - `disconnect`: starts the leave delay (or removes at once with `immediate`).
 *
 * `token` (on `connect` and `disconnect`) names one life of a connection id: each `connect` of a
 * handle brings its own, and the store keeps the last one given for the connection. A
 * `disconnect` whose token is not the stored one closes an earlier life of a reused connection id
 * (its close arrived after the id connected again): `missing`, nothing changes. Without a token
 * on either side, a `disconnect` ends the connection as before.
 * - `state`: sets the user's app state (`presence.updated` when it changed) and records `at` as
 *   its `stateAt`; creates the user.
 * - `settle`: nothing but the settling (reads use it with `read`).
 * - `send`: queues a message (creating the user), then claims delivery if they are reachable.
 * - `ack`: the holder of claim `token` delivered every message up to `lastSequence`.
 */
export type PresenceOperation = PresenceOperationBase &
  (
    | {
        kind: 'connect';
        connectionId: string;
        data?: string;
        away?: boolean;
        state?: string;
        stateAt?: number;
        token?: string;
      }
    | { kind: 'heartbeat'; connectionId: string }
    | { kind: 'update'; connectionId: string; data?: string }
    | { kind: 'away'; connectionId: string; away: boolean }
    | { kind: 'disconnect'; connectionId: string; immediate: boolean; token?: string }
    | { kind: 'state'; state: string }
    | { kind: 'settle' }
    | { kind: 'send'; messageId: string; body: string }
    | { kind: 'ack'; token: number; lastSequence: number }
  );

/** What {@link PresenceStore.apply} reports. */
export interface PresenceApplyResult {
  /**
   * - `ok`: applied;
   * - `missing`: the connection is unknown, expired or leaving (heartbeat, update, away,
   *   disconnect), or a disconnect's token names an earlier life of it; nothing about it changed;
   * - `limit`: `connect` would exceed `maxConnectionsPerUser` with connections that are not
   *   leaving; nothing was stored.
   */
  outcome: 'ok' | 'missing' | 'limit';
  /** The transition this operation decided, if any: publish it, then `confirm` it. */
  transition?: PresenceTransition;
  /** Messages claimed for delivery by this caller: publish them in order, then `ack`. */
  delivery?: MessageDelivery;
  /** The user after the operation (with `read`); undefined for a user the store does not know. */
  record?: PresenceRecord;
  /** For `send`: the message's position in the queue. */
  sequence?: number;
  /**
   * For `send`: true when the message waits for the user: offline, or every connection in its
   * leave delay (nothing is there to receive it).
   */
  queued?: boolean;
  /** Messages dropped from the user's queue by this operation (full queue, or too old). */
  dropped?: number;
  /** True when this operation created the user's record (first sight of the user). */
  created?: boolean;
}

/** What {@link PresenceStore.sweep} reports. */
export interface PresenceSweepResult {
  /**
   * Transitions to publish: the ones this sweep decided (expired connections, ended leave
   * delays, idle connections) and unconfirmed ones whose lease ran out, claimed again.
   */
  transitions: PresenceTransition[];
  /** Deliveries this sweep claimed (users back online whose messages nobody delivers). */
  deliveries: { userId: string; delivery: MessageDelivery }[];
  /** Messages dropped because they got too old. */
  dropped: number;
  /** True when a limit was reached: sweep again. */
  more: boolean;
}

/**
 * Where presence keeps its state, shared by every process using it. Every decision is made
 * atomically by `apply` and `sweep`, so many processes can share one store and each transition
 * is decided exactly once. Memory (`createMemoryPresenceStore`) and Redis
 * (`createRedisPresenceStore`) pass the same conformance suite, shipped from
 * `@calltrack/presence/testing` for your own stores.
 *
 * A store never publishes: the engine publishes what the store decided, then confirms.
 */
export interface PresenceStore {
  /** Applies one operation to one user, atomically. */
  apply(operation: PresenceOperation): Promise<PresenceApplyResult>;
  /**
   * Settles the tenant's users whose next deadline has passed by `at`, claims their pending
   * deliveries, and claims again the unconfirmed transitions whose lease ran out. At most
   * `limit` of each per call.
   */
  sweep(
    tenantId: string,
    at: number,
    settings: PresenceStoreSettings,
    limit: number,
  ): Promise<PresenceSweepResult>;
  /** The transitions were published: take them out of the outbox. */
  confirm(tenantId: string, eventIds: readonly string[]): Promise<void>;
  /** Users whose decided status is one of `statuses`, by user id, at most `limit`. */
  listMembers(
    tenantId: string,
    statuses: readonly ('online' | 'away')[],
    limit: number,
  ): Promise<PresenceRecord[]>;
  /** Users per decided status, in O(1). */
  countMembers(tenantId: string): Promise<{ online: number; away: number }>;
  /**
   * The tenants the sweeper walks: at least every tenant with a connection, an unconfirmed
   * transition or a delivery claim. A tenant is listed by an operation that may create a user
   * (`connect`, `state`, `send`); a store drops it when a sweep of it finds nothing left to do,
   * so the sweeper's work follows the tenants in use, not every tenant ever seen. Dropping it
   * must never race with an operation that lists it: a tenant with a connection stays listed.
   */
  listTenants(): Promise<string[]>;
  /**
   * One page of the tenants {@link PresenceStore.listTenants} lists, for a walk of every tenant
   * that reads a bounded page at a time (the members of every tenant, for a console). Start
   * without `cursor`; pass each page's `cursor` to get the next; the walk is over at a page
   * without one. Only reads: it never lists or unlists a tenant.
   *
   * A tenant listed for the whole walk is in at least one page (it may be in two); one listed or
   * unlisted meanwhile may or may not be. A page holds about `limit` tenants (the memory store
   * exactly at most `limit`, by tenant id; Redis's `HSCAN` about `limit`, and a small set whole)
   * and may be empty before the walk is over. The order is the store's.
   */
  listTenantPage(cursor: string | undefined, limit: number): Promise<PresenceTenantPage>;
  /**
   * Optional: many heartbeats of one tenant in one step, fast path only. For each connection:
   * `ok` when it was refreshed (its user's status cannot change: an active connection of an
   * online user, or a connection set away of an away user), `missing` when it is unknown or
   * leaving (nothing changed), `slow` when it needs a full `apply({ kind: 'heartbeat' })`
   * (nothing changed yet). Without it, the engine applies heartbeats one by one.
   *
   * An `ok` may come as a {@link HeartbeatReport} with the user's state and its time: the
   * connection keeps both, to give them back if the store loses the record. A bare outcome says nothing about the
   * state, and the connection forgets what it knew (it could be stale).
   */
  heartbeat?(
    tenantId: string,
    beats: readonly { userId: string; connectionId: string }[],
    at: number,
    settings: PresenceStoreSettings,
  ): Promise<(HeartbeatOutcome | HeartbeatReport)[]>;
}

/** What {@link PresenceStore.listTenantPage} answers. */
export interface PresenceTenantPage {
  /** Tenant ids of this page. */
  tenants: string[];
  /** Where the next page starts; absent on the last page. */
  cursor?: string;
}

/** What {@link PresenceStore.heartbeat} reports for one connection. */
export type HeartbeatOutcome = 'ok' | 'missing' | 'slow';

/**
 * A heartbeat's outcome with the user's app state (`state` absent: none was set) and when it was
 * set (`stateAt`, the record's).
 */
export interface HeartbeatReport {
  outcome: HeartbeatOutcome;
  state?: string;
  stateAt?: number;
}

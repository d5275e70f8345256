import type {
  CallSnapshot,
  Clock,
  EventSink,
  Logger,
  PresenceStatus,
  Principal,
  UserPresence,
} from '@calltrack/core';
import type { PresenceStore } from './presence-store';

/** Options of {@link createPresence}. Times are in milliseconds. */
export interface PresenceOptions {
  /** Where `presence.*` events and user messages are published: your event bus. */
  bus: EventSink;
  /** Where presence state lives. Default: in this process's memory (one process only). */
  store?: PresenceStore;
  /**
   * How often each connection heartbeats. Default 25,000 (Socket.IO's and Centrifugo's ping).
   * `connectionTtlMs` and `awayAfterMs` default to multiples of it.
   */
  heartbeatIntervalMs?: number;
  /**
   * A connection not heartbeated for this long counts as away. Default 1.6 heartbeats (40 s):
   * one missed heartbeat. Must be longer than the heartbeat interval.
   */
  awayAfterMs?: number;
  /**
   * A connection not heartbeated for this long is gone: what ends the connections of a crashed
   * process. Default 2.4 heartbeats (60 s). Must be longer than the heartbeat interval.
   */
  connectionTtlMs?: number;
  /**
   * A disconnected connection still counts for this long, so a page reload or a flapping
   * network emits nothing. Default 15,000 (Ably's). 0 leaves at once.
   */
  leaveDelayMs?: number;
  /**
   * How often `start()` sweeps for expired connections and lost work. Default 5,000; at most
   * 2,147,483,647 (what a timer waits).
   */
  sweepIntervalMs?: number;
  /**
   * Heartbeat every connection of this process from one timer (the first beat jittered to
   * 50–100% of the interval). Default true. Set false when your transport calls
   * `heartbeat()` on its own keepalive.
   */
  autoHeartbeat?: boolean;
  /** How long a decided transition or a message delivery is leased before another process takes it over. Default 30,000. */
  publishLeaseMs?: number;
  /** How long an offline user's state and version are kept. Default 24 hours. */
  offlineRetentionMs?: number;
  /**
   * Most connections per user, those in their leave delay included: a new one takes the place of
   * the one leaving longest, and is refused with `TooManyConnectionsError` when none is leaving.
   * Default 16.
   */
  maxConnectionsPerUser?: number;
  /** Longest connection `data`, as JSON characters. Default 4,096. */
  maxDataLength?: number;
  /** The state of a user the app never set one for. Default `'available'`. */
  initialState?: string;
  /** States in which an online agent can take a call (`isAvailable`). Default `['available']`. */
  availableStates?: readonly string[];
  /** The offline queue of `send`. */
  queue?: {
    /** Most messages kept per user; the oldest are dropped (with a warning). Default 1,000. */
    maxMessages?: number;
    /** Oldest message kept. Default 24 hours. */
    maxAgeMs?: number;
    /** Longest message, as JSON characters. Default 65,536. */
    maxMessageLength?: number;
  };
  /**
   * Where to read active calls from (a `CallTracker`): an agent on a call (by `agentId` or
   * `userId`) is busy, so `isAvailable` is false and snapshots list their `calls`. One user's
   * calls are asked with `{ userId }` (the tracker finds them among all the tenant's active
   * calls). Lists read the tenant's active calls once for all their members: the newest 10,000,
   * and when the tenant has more, the next pages with `{ after }` (the previous page's last
   * call). A reader that does not page (it answers a first page again) is asked per listed user
   * not found on the first page instead.
   */
  calls?: {
    listActiveCalls(
      tenantId: string,
      options?: {
        limit?: number;
        userId?: string;
        after?: { callId: string; startedAt?: string };
      },
    ): Promise<CallSnapshot[]>;
  };
  /**
   * Tells whether a tenant exists. When it returns false, the call fails with
   * `UnknownTenantError` (422) and nothing is stored. Default: every well-formed tenant id.
   */
  isKnownTenant?: (tenantId: string) => boolean | Promise<boolean>;
  /** Where presence reads the time, for everything time-based. Default `Date.now`. */
  clock?: Clock;
  /**
   * Where presence reports what happens in the background: `debug` transitions published and
   * deliveries made; `warn` messages dropped from a full or too old offline queue (with counts);
   * `error` a publish or heartbeat that failed, a sweep that threw. Default: warnings and errors
   * to `console.warn`.
   */
  logger?: Logger;
}

/** What {@link Presence.connect} takes. */
export interface PresenceConnectInput {
  tenantId: string;
  userId: string;
  /** Your id for the connection (a socket id…), unique per user. Default: a random UUID. */
  connectionId?: string;
  /** Anything JSON about this connection (device, page…), at most `maxDataLength` as JSON. */
  data?: unknown;
}

/** The options of {@link Presence.connect} when it is given a `Principal`. */
export interface PresenceConnectOptions {
  connectionId?: string;
  data?: unknown;
}

/**
 * One registered connection. Call `disconnect()` when the socket closes; everything else is
 * optional. Once disconnected, every method resolves without doing anything.
 */
export interface PresenceConnection {
  readonly tenantId: string;
  readonly userId: string;
  readonly connectionId: string;
  /** True once `disconnect()` was called (or `stop()` ran). */
  readonly closed: boolean;
  /**
   * Proves the connection is alive. With `autoHeartbeat` (the default) presence does this
   * itself; call it from your transport's keepalive otherwise. A connection that expired while
   * this process was paused comes back (re-registered with its data).
   */
  heartbeat(): Promise<void>;
  /** Replaces the connection's data: `presence.updated` when it changed. */
  update(data: unknown): Promise<void>;
  /** Sets the connection away (the user idles) or back; the user is away when all their connections are. */
  setAway(away: boolean): Promise<void>;
  /**
   * Leaves: the connection still counts for `leaveDelayMs` (a reload reconnects in time and
   * nothing is emitted), or leaves at once with `{ immediate: true }` (a logout).
   */
  disconnect(options?: { immediate?: boolean }): Promise<void>;
}

/** What {@link Presence.send} reports. */
export interface SendResult {
  /** The message's id (the one given, or a random UUID): the bus event id is `message:<user>:<id>`. */
  messageId: string;
  /** Its position in the user's message sequence (`data.sequence` of the event). */
  sequence: number;
  /**
   * True when no connection of the user is there to receive it (they are offline, or every
   * connection is in its leave delay): the message waits in their queue and is published when
   * they connect again. False when it was published (or is being published by another process).
   */
  queued: boolean;
  /** Older messages dropped from the user's full queue to make room (also logged as a warning). */
  dropped: number;
}

/** Options of {@link Presence.send}. */
export interface SendOptions {
  /**
   * Your id for the message (letters, digits, `.`, `_`, `-`; at most 64): sending twice with one
   * id delivers once while the first copy is in the bus's history. Default: a random UUID.
   */
  messageId?: string;
}

/** Options of {@link Presence.listMembers}. */
export interface ListMembersOptions {
  /** Only users with this status (or these). Default both `online` and `away`. */
  status?: Exclude<PresenceStatus, 'offline'> | readonly Exclude<PresenceStatus, 'offline'>[];
  /** At most this many users, by user id. Default 1,000, at most 10,000. */
  limit?: number;
}

/** What {@link Presence.countOnline} reports: users, not connections. */
export interface PresenceCount {
  online: number;
  away: number;
}

/** What one {@link Presence.sweep} did. */
export interface PresenceSweepReport {
  /** Transitions published (decided by this sweep, or taken over from a process that died). */
  transitions: number;
  /** Messages published to users who are back. */
  delivered: number;
}

/**
 * Presence over the bus: which users are online, away or offline on every process, their
 * app-set state, whether an agent can take a call, and messages that wait for offline users.
 * User-level `presence.*` events are published exactly once per transition across all
 * processes. See the package README for the model and the guarantees.
 */
export interface Presence {
  /**
   * Registers a connection of a user: on the user's first connection, `presence.online` is
   * published before this resolves. Pass `{ tenantId, userId, connectionId?, data? }`, or a
   * core `Principal` (which must have a `userId`) and options. Refused with
   * `InvalidArgumentError` (bad ids, data), `PayloadTooLargeError` (data too long),
   * `UnknownTenantError` or `TooManyConnectionsError`; nothing is stored then.
   */
  connect(input: PresenceConnectInput): Promise<PresenceConnection>;
  connect(principal: Principal, options?: PresenceConnectOptions): Promise<PresenceConnection>;
  /** Sets a user's app state (`available`, `break`, `wrap-up`…): `presence.updated` when it changed. */
  setState(tenantId: string, userId: string, state: string): Promise<UserPresence>;
  /** One user, as of now (an unknown user is `offline` with version 0). */
  getPresence(tenantId: string, userId: string): Promise<UserPresence>;
  /** Connected users (online and away, or the `status` asked for), by user id. */
  listMembers(tenantId: string, options?: ListMembersOptions): Promise<UserPresence[]>;
  /**
   * Connected users of every tenant (online and away, or the `status` asked for), for a console
   * of every tenant: tenant after tenant in the store's order, each tenant's users by user id, at
   * most `limit` in all (default 1,000, at most 10,000). Past the limit, the rest are left out: a
   * tenant is cut at it, and the tenants after it are not read (ask for one more than you show to
   * know whether the list is cut). Each member has its `tenantId`: two tenants' users may share
   * an id. Each tenant is read as `listMembers` reads it, as of now; the walk reads the store's
   * tenants a page at a time (`PresenceStore.listTenantPage`), counts each one's members (one
   * cheap read each, a page of them at once) and lists only tenants that have some.
   */
  listMembersAcrossTenants(options?: ListMembersOptions): Promise<UserPresence[]>;
  /** Users online and away, counted without listing them. */
  countOnline(tenantId: string): Promise<PresenceCount>;
  /**
   * For routing: the user is `online`, their state is one of `availableStates`, and (with
   * `calls`) they are not on an active call.
   */
  isAvailable(tenantId: string, userId: string): Promise<boolean>;
  /** Every user `isAvailable` would say yes to, by user id (one read of the active calls). */
  listAvailable(tenantId: string, options?: { limit?: number }): Promise<UserPresence[]>;
  /**
   * Sends a message to one user: published at once as a user-addressed `user.message` event
   * when they are connected (a connection not in its leave delay), else queued and published,
   * in order, when they connect again.
   */
  send(
    tenantId: string,
    userId: string,
    message: unknown,
    options?: SendOptions,
  ): Promise<SendResult>;
  /**
   * One sweep of every tenant: publishes what expired connections and ended leave delays
   * decide, takes over work of processes that died, delivers messages nobody delivered.
   * `start()` runs it every `sweepIntervalMs`; safe to run on every process at once.
   */
  sweep(): Promise<PresenceSweepReport>;
  /** Starts the sweeper and the heartbeat timer (both `unref()`ed). Call it on every process. */
  start(): void;
  /**
   * Stops the timers, disconnects this process's connections (with the leave delay, so users
   * who reconnect elsewhere in time see nothing), those whose `connect` is in flight or comes
   * while it runs included (their handles come back closed), and waits for work in flight. A
   * `stop()` called while one runs waits for it (then leaves what connected meanwhile).
   */
  stop(): Promise<void>;
}

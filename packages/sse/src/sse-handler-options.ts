import type { EventBus } from '@calltrack/bus';
import type {
  ActiveCallsReader,
  Authenticate,
  ConnectionPresence,
  Principal,
} from '@calltrack/core';
import type { SseQuery } from './sse-query';

/**
 * Where snapshots come from: a `CallTracker` from `@calltrack/tracker`, or anything with
 * `listActiveCalls` and `listActiveCallsAcrossTenants` of core's `ActiveCallsReader`
 * (`listActiveCallsAcrossTenants` serves principals with `allTenants`). With its `getCall` too
 * (a `CallTracker` has it), a tenant's stream that follows calls (`callId=`) reads those calls
 * alone, so its snapshot lists every one of them that is active, however many calls the tenant
 * has; without, it filters the newest `snapshotLimit` calls.
 */
export type SseSnapshotSource = Pick<
  ActiveCallsReader,
  'listActiveCalls' | 'listActiveCallsAcrossTenants'
> &
  Partial<Pick<ActiveCallsReader, 'getCall'>>;

/** Why a stream ended, as `onClose` reports it. */
export type SseCloseReason =
  /** The client went away (closed the tab, lost the network) or the response was cancelled. */
  | 'client-closed'
  /** The client read too slowly and fell too far behind; it reconnects and resumes. */
  | 'lagged'
  /** The bus was closed (shutdown). */
  | 'bus-closed'
  /** The stream reached its `maxStreamMs`; the client reconnects, authenticated again. */
  | 'expired'
  /** Something failed (the snapshot, the bus); reported to `onError` too. */
  | 'error';

/** One stream, as the hooks see it. */
export interface SseStreamInfo {
  /** What `authenticate` returned. */
  principal: Principal;
  /** The stream's filters and resume cursor. */
  query: SseQuery;
}

/** What `onClose` reports. */
export interface SseCloseInfo extends SseStreamInfo {
  reason: SseCloseReason;
  /** Call events written to this stream (snapshots, resets and pings not counted). */
  delivered: number;
}

/**
 * An event a stream could not carry (it could not be encoded, or a filter failed on it). The
 * stream skipped it and went on; its clients got a `reset` holding the event's cursor, so they
 * reload their state and never resume onto the event again.
 */
export interface SseSkippedEvent {
  /** The event's bus cursor. */
  cursor: string;
  /** The event's `id`, when it could be read. */
  eventId?: string;
  /** The event's `type`, when it could be read. */
  type?: string;
  /** The event's tenant, when it could be read. */
  tenantId?: string;
}

/** What `onError` is told about a failure besides the error itself. */
export interface SseErrorInfo {
  /**
   * Who the stream the failure belongs to is for, when it belongs to one (what `authenticate`
   * returned): `info.principal`, as in Socket.IO's and tRPC's `onError`.
   */
  principal?: Principal;
  /** The stream the failure belongs to, when it belongs to one: its principal and query. */
  stream?: SseStreamInfo;
  /** The event that was skipped, when the failure was about one event (reported once per event). */
  skipped?: SseSkippedEvent;
}

/** Options of `createSseHandler` and `createSseNodeHandler`. */
export interface SseHandlerOptions {
  /** The event bus to stream from (only `subscribe` is used; the handler never closes it). */
  bus: Pick<EventBus, 'subscribe'>;
  /**
   * The call tracker: when given, a fresh stream (and a stream after a `reset`) starts with a
   * `snapshot` event holding the active calls (`{ calls, complete }`: `complete` is false when
   * active calls were left out, see `snapshotLimit`), so the client needs no separate request.
   */
  tracker?: SseSnapshotSource;
  /**
   * Presence (`createPresence()` from `@calltrack/presence`, or any `ConnectionPresence`): each
   * stream whose principal has a `userId` is registered once it is attached to the bus (a
   * refusal, such as too many connections, answers the request with its status), heartbeats on
   * every keepalive tick (`keepAliveMs`; create presence with `autoHeartbeat: false` and a
   * `heartbeatIntervalMs` of at least `keepAliveMs`), and disconnects when the stream ends. A
   * fresh tenant stream that takes `presence.*` events starts with an `event: presence` holding
   * the tenant's members (again after a `reset`); the `presence.*` events that follow are the
   * diffs. An all-tenants stream gets the members of every tenant the same way (with
   * `listMembersAcrossTenants`, which `createPresence()` has; without it,
   * `event: presence-unavailable`). At most `presenceSnapshotLimit` (1,000) members,
   * `complete: false` past them.
   */
  presence?: ConnectionPresence;
  /**
   * Resolves the caller from the request: core's `Principal` (the stream's tenant comes from it and
   * nowhere else; `allTenants: true` streams every tenant's events), or null for missing or bad
   * credentials (401). Throw a `CallTrackError` to answer with its status.
   */
  authenticate: Authenticate<Request>;
  /**
   * The only origins (`https://app.example`) whose pages may open a stream: a request whose
   * `Origin` header names another (or is `null`) is answered 403 `origin_not_allowed` before
   * `authenticate` runs, so no bus subscription, presence registration or snapshot read is made
   * for it. Set it when `authenticate` reads a cookie: a page of another site can open an
   * `EventSource` with `withCredentials` and the user's cookies go with it (with `SameSite=None`,
   * or from another origin of the same site); CORS stops that page reading the stream, not the
   * server opening it. Not every request of another origin's page carries `Origin` (an image,
   * a `no-cors` fetch, a link), so one without it is refused too when its `Sec-Fetch-Site` is
   * `cross-site` or `same-site`; it goes on with `same-origin` (your own page's `EventSource`),
   * `none` (a typed URL) or no `Sec-Fetch-Site` at all (a client that is not a browser, which
   * holds no one's cookies, or an old browser). Entries are normalized as browsers send origins; one that is not an origin is
   * an `InvalidArgumentError` when the handler is made. Default: every origin. (Socket.IO's
   * `attachCallTrack` and tRPC's router take the same option, with the same rule.)
   */
  allowedOrigins?: readonly string[];
  /**
   * A `: ping` comment goes to every stream that sent nothing for this long, so proxies (nginx
   * closes idle upstreams after 60 s) keep it open. One shared, `unref()`ed timer serves every
   * stream of the handler. Default 15,000 ms; 0 turns it off.
   */
  keepAliveMs?: number;
  /**
   * The longest a client waits before it reconnects after a drop, sent as `retry:` at the start
   * of each stream: each stream gets a random delay between half of it and all of it, so a
   * restarted server is not hit by every client at once. Default 1,000 ms.
   */
  retryMs?: number;
  /**
   * Most active calls in a snapshot (the tracker's `limit`, 1–10,000), the newest. A snapshot
   * this cut says so: `complete: false`. A stream that follows calls (`callId=`) on a tracker
   * with `getCall` reads just those calls, and is cut only when more of them are active than
   * this. Default 1,000.
   */
  snapshotLimit?: number;
  /**
   * Most users in an `event: presence` members snapshot (1–10,000, what `createPresence()`
   * lists at once), of the tenant, or of every tenant together on an all-tenants stream: tenant
   * after tenant, each by user id. A snapshot this cut says so (`complete: false`); the users
   * left out appear with their next `presence.*` event. At 10,000 a list that fills the limit
   * counts as cut, as `snapshotLimit`'s does. The same option as Socket.IO's `attachCallTrack`
   * and tRPC's procedures. Default 1,000.
   */
  presenceSnapshotLimit?: number;
  /** Most calls one stream follows (its `callId` filters). Default 100. */
  maxFollowedCalls?: number;
  /**
   * The longest a stream request waits to be attached to the bus (and registered with presence)
   * before it is answered 503 `bus_unavailable` with `Retry-After`: while Redis is down a bus
   * subscription cannot start, and without a bound the request would hang until it came back.
   * The bus keeps trying in the background, so a later request streams once Redis is back.
   * Default 10,000 ms.
   */
  attachTimeoutMs?: number;
  /**
   * The longest a stream lives. Credentials are checked only when a stream opens, so a stream
   * outlives a revoked session or an expired token; this bounds by how much. Each stream ends
   * after a random time between half of it and all of it (streams opened together do not all
   * come back together), with reason `expired`, and its client reconnects after `retry:`, goes
   * through `authenticate` again and resumes from its last event id. One timer per stream.
   * Default 0: a stream lives until its client leaves.
   */
  maxStreamMs?: number;
  /**
   * Most frames held for one client whose socket is full. Past it the stream ends (reason
   * `lagged`; a Node handler drops the connection) and the client resumes from its last event
   * id. This and the socket's own buffer bound the memory a slow client can hold. Default 1,000.
   *
   * Events held behind a fresh stream's first snapshot (or members) while it loads are not lag:
   * past the limit they are dropped, and the first frames are read again once that load is
   * done. Keep it above the events a tenant publishes during one snapshot read, or a fresh
   * stream waits (pings only) for a quieter moment.
   */
  maxPendingEvents?: number;
  /**
   * Called when a stream starts: authenticated and attached to the bus (events published from
   * now on reach it), as its first bytes go out and before the snapshot is loaded. A hook that
   * throws is reported to `onError`; the stream goes on.
   */
  onOpen?: (info: SseStreamInfo) => void;
  /** Called once when a stream ends, after it has left the bus. */
  onClose?: (info: SseCloseInfo) => void;
  /**
   * Unexpected failures: `authenticate` throwing something that is not a `CallTrackError`, a
   * snapshot or bus failure mid-stream, a hook that threw, and an event a stream had to skip
   * (`info.skipped`: it could not be encoded or filtered; reported once per event, and every
   * other event keeps flowing). A thrown value that is not an `Error` arrives wrapped in one (its
   * `cause`). Default `console.error`.
   */
  onError?: (error: Error, info: SseErrorInfo) => void;
}

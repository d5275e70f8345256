import type {
  ActiveCallsReader,
  CallAnalytics,
  CallEvent,
  CallSnapshot,
  Clock,
  EventSink,
  EventSinkResult,
  Logger,
} from '@calltrack/core';
import type { ActiveCallCount } from './active-call-count';
import type { AnalyticsGranularity } from './analytics-granularity';
import type { CallAlertOptions } from './call-alert-options';
import type { CallApplyOutcome, CallStore } from './call-store';

/** Options of `createCallTracker`. */
export interface CallTrackerOptions {
  /**
   * Where events go after the tracker applied them: the event bus (anything with an idempotent
   * `publish`). The tracker never closes it.
   */
  bus: EventSink;
  /** Where call state lives. Default: `createMemoryCallStore()` (one process). */
  store?: CallStore;
  /**
   * Where the tracker reads the time (fractions of a millisecond are dropped). Default
   * `Date.now`. Inject one in tests.
   */
  clock?: Clock;
  /**
   * An active call not answered yet (`queued`, `ringing`) with no change for this long is closed
   * by the reaper. Default 1 hour.
   */
  staleAfterMs?: number;
  /**
   * An answered (`in-progress`) call with no change for this long is closed by the reaper.
   * Twilio and CallerDesk send nothing between the answer and the end, so this is the longest
   * call the tracker waits out: set it above the longest call you expect (your provider's call
   * time limit). Default 4 hours (Twilio's default limit), or `staleAfterMs` when that is longer.
   */
  answeredStaleAfterMs?: number;
  /**
   * The status a reaped call ends with. Default `failed`: the call's end was never observed,
   * so its lifecycle failed as far as anyone can tell (it also counts in the failed-call rate,
   * which is what you want when webhooks stop arriving).
   */
  staleCallStatus?: 'failed' | 'canceled';
  /** How often `start()` runs `runMaintenance`. Default 1 minute. */
  maintenanceIntervalMs?: number;
  /**
   * How long a change may stay unconfirmed on the bus before a retry of its event (or the
   * maintenance run, for a `call.ended`) publishes it again. Default 30 seconds.
   */
  publishLeaseMs?: number;
  /**
   * How long an ended call stays readable with `getCall`. Default 24 hours. Also the age past
   * which an event for a call no longer kept is dropped as a possible replay (`expired`).
   */
  endedCallRetentionMs?: number;
  analytics?: {
    /** Hour and day buckets are kept this many days. Default 30. */
    retentionDays?: number;
    /** Minute buckets (used by the failed-call rate) are kept this long. Default 24 hours. */
    minuteRetentionMs?: number;
    /** Concurrent calls a tenant can carry, to report utilization against. */
    capacity?: number | ((tenantId: string) => number | undefined);
  };
  alerts?: CallAlertOptions;
  /**
   * Where the tracker reports what happens in the background: `debug` every ingested event's
   * outcome, reaped calls and claimed alerts; `warn` stale calls closed by the reaper and events
   * dropped as possible replays (`expired`); `error` a publish that failed, a background run that
   * threw, an alert hook that threw. Phone numbers are masked before they reach it. Default:
   * errors to `console.warn`, nothing else.
   */
  logger?: Logger;
}

/** What `ingest` did with an event. */
export interface IngestResult extends EventSinkResult {
  /**
   * The store's verdict (see `CallApplyOutcome`), `forwarded` for an event the tracker does not
   * track (not `call.*`), which went to the bus unchanged, or `expired` for an event that
   * occurred longer than `endedCallRetentionMs` ago for a call the tracker no longer keeps: it
   * cannot be told from a replay, so it is neither applied nor published (`duplicate: true`, so
   * the provider's webhook is answered as handled), and it is reported to the logger's `warn`.
   */
  outcome: CallApplyOutcome | 'forwarded' | 'expired';
  /** True when the event went to the bus in this call. */
  published: boolean;
  /** The call after the event. */
  call?: CallSnapshot;
}

/** Options of `listActiveCalls`. */
export interface ListActiveCallsOptions {
  /** Only this branch's calls. */
  branchId?: string;
  /**
   * Only this user's calls: those whose `agentId` or `userId` is this id, however many other
   * calls the tenant has (what makes an agent busy, for `@calltrack/presence`). The Redis store
   * has no index by user: it reads the two ids of every active call of the tenant to find them.
   */
  userId?: string;
  /** At most this many (1–10,000). Default 1,000. */
  limit?: number;
  /**
   * The next page: only the calls listed after this one, the last call of the previous page
   * (its `callId` and `startedAt`; a `CallSnapshot` will do, also of a call that has ended since).
   * Every call active for the whole walk is listed once, however many started at the same time
   * (calls that start or end between pages shift nothing); a call that starts during the walk is
   * listed only when its start is behind the page reached (an event that came late), one that ends
   * only when its page was read before it ended. A call an out-of-order event gives an earlier
   * start during the walk may be listed again.
   */
  after?: { callId: string; startedAt?: string | undefined } | undefined;
}

/** Options of `listRecentCalls`. */
export interface ListRecentCallsOptions {
  /** Only calls that ended in this branch. */
  branchId?: string;
  /** At most this many (1–1,000). Default 50. */
  limit?: number;
}

/** Options of `getAnalytics`. */
export interface GetAnalyticsOptions {
  /**
   * Start of the range (an ISO 8601 date, or date and time with its zone: `Z` or `±hh:mm`; a
   * Date; or ms); rounded down to a bucket start. Default: `to`
   * minus one hour (minute buckets), 24 hours (hour) or 30 days (day).
   */
  from?: string | number | Date;
  /** End of the range (exclusive); rounded up to a bucket end. Default: now (the tracker's clock). */
  to?: string | number | Date;
  /** Bucket size. Default `hour`. At most 2,000 buckets per query. */
  granularity?: AnalyticsGranularity;
}

/** What one `runMaintenance` did. */
export interface MaintenanceReport {
  /** Calls the reaper closed, in this process. */
  reaped: number;
  /** Unconfirmed `call.ended` events published again. */
  republished: number;
  /** Alerts published. */
  alerts: number;
}

/**
 * Live calls: a per-call state machine over `CallEvent`s, the queries over active calls,
 * the stale-call reaper, analytics and alerts. It is an `EventSink`: give it to a provider
 * webhook handler as `sink` and it applies each event, then publishes it to the bus with the
 * call's snapshot in `event.data.call`. It is also core's `ActiveCallsReader`, so the transports
 * read their snapshots of active calls from it.
 */
export interface CallTracker extends EventSink, ActiveCallsReader {
  /**
   * Applies an event to its call and publishes it if it changed something. Throws
   * `InvalidEventError` for an invalid event, `InvalidArgumentError` for a contradictory one,
   * and what the store or the bus throws; a failed publish is retried by a retry of the event.
   */
  ingest(event: CallEvent): Promise<IngestResult>;
  /** `ingest`, as an `EventSink`. */
  publish(event: CallEvent): Promise<IngestResult>;
  /** One call of the tenant, active or recently ended; undefined for another tenant's call. */
  getCall(tenantId: string, callId: string): Promise<CallSnapshot | undefined>;
  /** The tenant's active calls, newest first. */
  listActiveCalls(tenantId: string, options?: ListActiveCallsOptions): Promise<CallSnapshot[]>;
  /** The tenant's active calls, counted in total and per branch. */
  countActiveCalls(tenantId: string): Promise<ActiveCallCount>;
  /**
   * The tenant's recently ended calls, the latest end first (in the order the tracker decided
   * the ends), as long as they are kept (`endedCallRetentionMs`, a day by default): what a
   * dashboard's "recent calls" list shows after a reload.
   */
  listRecentCalls(tenantId: string, options?: ListRecentCallsOptions): Promise<CallSnapshot[]>;
  /**
   * Super-admin view: active calls of every tenant, newest first. Never expose it to a tenant.
   */
  listActiveCallsAcrossTenants(options?: { limit?: number }): Promise<CallSnapshot[]>;
  /** Super-admin view: active calls counted per tenant. */
  countActiveCallsAcrossTenants(): Promise<{ total: number; byTenant: Record<string, number> }>;
  /** Time-bucketed figures of the tenant's calls. */
  getAnalytics(tenantId: string, options?: GetAnalyticsOptions): Promise<CallAnalytics>;
  /**
   * Closes calls with no change for `staleAfterMs` (`answeredStaleAfterMs` once answered) with a
   * `call.ended` (`data.reason: 'stale'`).
   * Safe in every process at once: each call is closed by exactly one. Returns the calls this
   * process closed.
   */
  reapStaleCalls(now?: number): Promise<CallSnapshot[]>;
  /**
   * One maintenance pass: publishes `call.ended` events whose publish was never confirmed,
   * reaps stale calls, checks for long calls. What `start()` runs on a timer.
   */
  runMaintenance(now?: number): Promise<MaintenanceReport>;
  /** Runs `runMaintenance` every `maintenanceIntervalMs` (the timer is `unref()`ed). */
  start(): void;
  /**
   * Stops the timer and waits for a running pass and for publish confirmations still in
   * flight. Never closes the bus or the store.
   */
  stop(): Promise<void>;
}

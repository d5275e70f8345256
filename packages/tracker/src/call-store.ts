import type { CallEvent, CallSnapshot, CallStatus } from '@calltrack/core';
import type { ActiveCallCount } from './active-call-count';
import type { AnalyticsGranularity } from './analytics-granularity';
import type { CallTransition } from './call-transition';

/**
 * What applying a transition did:
 * - `changed`: the call moved to a new non-terminal status (publish the event);
 * - `ended`: the call ended, for the first and only time (publish the `call.ended`);
 * - `enriched`: details were added, the status did not move (publish the event);
 * - `ignored`: recorded, but it changes nothing: a status the call is already past, or a second
 *   end (do not publish);
 * - `duplicate`: the event id was seen before and is published or being published (drop it);
 * - `unpublished`: the event id was seen before and changed the call, but its publish was never
 *   confirmed (it failed, or the process died): publish it again, the bus drops a copy;
 * - `skipped`: a guarded transition (the reaper's) found the call changed; nothing was written.
 */
export type CallApplyOutcome =
  | 'changed'
  | 'ended'
  | 'enriched'
  | 'ignored'
  | 'duplicate'
  | 'unpublished'
  | 'skipped';

/** What {@link CallStore.apply} returns. */
export interface CallApplyResult {
  outcome: CallApplyOutcome;
  /** The call after the transition (undefined only for `skipped` on an unknown call). */
  call?: CallSnapshot;
  /**
   * The tenant's number of active calls right after this transition, when it changed it: set
   * when the call became active (`activated`) or stopped being active.
   */
  activeCount?: number;
  /**
   * True when this transition made the call active. For `unpublished`, true when the event handed
   * out again is the one that made the call active and the call still is, with `activeCount` the
   * tenant's count now: its alert checks run when its publish goes through.
   */
  activated?: boolean;
  /**
   * Set when the transition was applied but the analytics fold the store ran after it failed (the
   * Redis store folds its analytics log in batches, decision 0070): the event stands, the next
   * step or read folds again, and the tracker logs this. Set on the one result whose step ran the
   * fold.
   */
  analyticsFoldError?: unknown;
}

/** Names one event of one call. */
export interface CallEventKey {
  tenantId: string;
  callId: string;
  eventId: string;
}

/** An ended call whose `call.ended` was never confirmed published, claimed for publishing. */
export interface UnpublishedEnd {
  /** The `call.ended` event as it was ingested. */
  event: CallEvent;
  call: CallSnapshot;
}

/** Options of {@link CallStore.listActiveCalls}. */
export interface ListActiveCallsQuery {
  /** Only calls of this branch. */
  branchId?: string;
  /** Only calls that started before this time (ms). */
  startedBefore?: number;
  /**
   * Only the calls listed after this one: those that started earlier (`startedAt`, ms), or at the
   * same time with a lower call id. A page's last call gives the next page. The call itself need
   * not be active any more: a page starts where it stood. With `startedBefore` too, the stricter
   * of the two applies.
   *
   * A walk page by page lists each call that stays active for all of it once: every list reads
   * one consistent position (atomically), so calls that start or end between pages shift nothing.
   * A call that starts during a walk is listed when its start is behind the last page (an event
   * that arrived late), not when it is newer; a call that ends during it is listed if its page
   * was read before it ended. A call whose start an out-of-order event moves earlier during the
   * walk may be listed again, further on.
   */
  after?: { startedAt: number; callId: string };
  /**
   * Only this user's calls: those whose `agentId` or `userId` is this id. Every one of them, not
   * only those among the newest calls: a store without an index by user reads the two ids of
   * every active call (not the whole calls) to find them.
   */
  userId?: string;
  /** At most this many calls. */
  limit: number;
}

/** What {@link CallStore.listEndedCalls} returns. */
export interface ListEndedCallsQuery {
  /** Only calls of this branch (the branch the call had when it ended). */
  branchId?: string;
  limit: number;
  /** The time of the read (ms, the tracker's clock): calls past their retention by then are left out. */
  now: number;
}

/**
 * One analytics bucket as a store keeps it: raw sums and maxima the tracker turns into
 * averages and ratios. A store returns only buckets it holds data for.
 */
export interface AnalyticsBucketData {
  /** Bucket start, ms since the epoch (UTC-aligned). */
  start: number;
  /** Calls that became active, and calls first seen ended (counted where their end is). */
  started: number;
  /** Calls that ended. */
  ended: number;
  /** Ended calls that were answered. */
  answered: number;
  /** Sum of the talk time of the answered ended calls. */
  durationMs: number;
  /** Ended calls per terminal status. */
  byStatus: Partial<Record<CallStatus, number>>;
  /** Active calls just before the first change in the bucket (absent: no change in it). */
  open?: number;
  /** Active calls after the last change in the bucket. */
  level?: number;
  /** Most active calls after any change in the bucket. */
  peak?: number;
  /** Talk time of calls with an agent that fell within the bucket (hour and day only). */
  agentTalkMs: number;
  /** Distinct agents with talk time in the bucket (hour and day only). */
  agents: number;
}

/**
 * Where the tracker keeps call state. Every decision about an event (duplicate, apply, ignore,
 * end once) is made atomically by `apply`, so many processes can share one store. Memory
 * (`createMemoryCallStore`) and Redis (`createRedisCallStore`) pass the same conformance suite.
 *
 * A store never publishes anything through this interface: the tracker does, then confirms with
 * `markPublished`. (The Redis store can also publish inside its own script when the bus is a Redis
 * bus on the same Redis; the tracker finds that out itself, see decision 0030.)
 */
export interface CallStore {
  /** Applies one event to its call, atomically. */
  apply(transition: CallTransition): Promise<CallApplyResult>;
  /** The event was published: a repeat of it is now a plain duplicate. */
  markPublished(key: CallEventKey): Promise<void>;
  /** Publishing the event failed: a retry of it may publish it at once. */
  markPublishFailed(key: CallEventKey): Promise<void>;
  /**
   * One call, active or recently ended; undefined when unknown (or another tenant's), or when it
   * is inactive and `endedCallRetentionMs` passed since its last change by `now` (ms, the
   * tracker's clock): a store that forgets lazily must not hand out what it should have forgotten.
   */
  getCall(tenantId: string, callId: string, now: number): Promise<CallSnapshot | undefined>;
  /** Active calls, newest `startedAt` first (ties: call id descending); `after` pages them. */
  listActiveCalls(tenantId: string, query: ListActiveCallsQuery): Promise<CallSnapshot[]>;
  /** Active calls counted, in O(1) per branch. */
  countActiveCalls(tenantId: string): Promise<ActiveCallCount>;
  /**
   * Ended calls the store still keeps (`endedCallRetentionMs`), the most recently ended first:
   * in the order the store decided their ends.
   */
  listEndedCalls(tenantId: string, query: ListEndedCallsQuery): Promise<CallSnapshot[]>;
  /** Tenants that have had calls (the reaper walks them). */
  listTenants(): Promise<string[]>;
  /**
   * Active calls gone stale before `now` (ms), the earliest first: a call goes stale at its last
   * change plus `staleAfterMsOf(status)` under the settings of the transition that changed it
   * last (`staleAfterMs`, or `answeredStaleAfterMs` once `in-progress`). Keep it as an index
   * written with each change, so the reaper reads stale calls only, however many long calls
   * are active.
   */
  findStaleCalls(tenantId: string, now: number, limit: number): Promise<CallSnapshot[]>;
  /**
   * Claims `call.ended` events whose publish was not confirmed and whose lease ran out by `now`,
   * leasing them again for `leaseMs` so that only one process publishes each.
   */
  claimUnpublishedEnds(
    tenantId: string,
    now: number,
    leaseMs: number,
    limit: number,
  ): Promise<UnpublishedEnd[]>;
  /** Analytics buckets with data whose start lies in `[from, to)`, oldest first. */
  readAnalytics(
    tenantId: string,
    granularity: AnalyticsGranularity,
    from: number,
    to: number,
  ): Promise<AnalyticsBucketData[]>;
  /**
   * Takes the alert slot `key` for `ttlMs` if nobody holds it: true for exactly one caller, in
   * every process, until it expires.
   */
  claimAlert(tenantId: string, key: string, ttlMs: number, now: number): Promise<boolean>;
  /** Frees the alert slot `key` (its alert could not be published), so the next claim wins. */
  releaseAlert(tenantId: string, key: string): Promise<void>;
  /**
   * Takes the alert `rule` of the active call `callId`: true for exactly one caller, in every
   * process, for as long as the store keeps the call (no time to live: a call can stay active
   * for longer than any); false when it was taken, or the call is not active.
   */
  claimCallAlert(tenantId: string, callId: string, rule: string): Promise<boolean>;
  /** Frees the call's alert `rule` (its alert could not be published), so the next claim wins. */
  releaseCallAlert(tenantId: string, callId: string, rule: string): Promise<void>;
}

import type { CallDirection, CallEvent, CallStatus } from '@calltrack/core';
import type { AnalyticsGranularity } from './analytics-granularity';
import type { CallDetails } from './call-details';

/**
 * What one event does to its call, worked out from the event alone (see `toCallTransition`).
 * A store decides, atomically against what it holds, whether and how it applies.
 *
 * - `status`: moves the call to `status` (`queued`, `ringing` or `in-progress`) if that is further
 *   along than where it is.
 * - `end`: ends the call with the terminal `status`, unless it already ended.
 * - `enrich`: adds details (analysis, recording…) and never moves the status.
 */
export interface CallTransition {
  tenantId: string;
  callId: string;
  /** The event's id: a repeated id is a duplicate. */
  eventId: string;
  kind: 'status' | 'end' | 'enrich';
  /** For `status` and `end`. */
  status?: CallStatus;
  /** The event's `occurredAt`, in milliseconds. */
  occurredAt: number;
  /** The provider's sequence number, if any. */
  sequence?: number;
  /** Who and where: fills what the call does not know yet, never overwrites. */
  identity: CallIdentity;
  /** Details the event carries. */
  details: CallDetails;
  /** The tracker's clock when the event was ingested, in milliseconds. */
  at: number;
  /** For `end`: the event, kept until it is published (an outbox for `call.ended`). */
  event?: CallEvent;
  /**
   * Apply only if the call is still active and its `updatedAt` is exactly this (the stale
   * reaper's compare-and-set); otherwise nothing is written and the outcome is `skipped`.
   */
  expectUpdatedAt?: number;
  settings: CallTransitionSettings;
}

/**
 * The identity fields an event fills in on its call when the call does not have them yet (never
 * overwriting them), in the order both stores fill them.
 */
export const callIdentityFills = [
  'branchId',
  'agentId',
  'userId',
  'direction',
  'from',
  'to',
] as const satisfies readonly (keyof CallIdentity)[];

/** Who made the call and where it belongs. */
export interface CallIdentity {
  provider: string;
  branchId?: string;
  agentId?: string;
  userId?: string;
  direction?: CallDirection;
  from?: string;
  to?: string;
}

/** Tracker settings a store needs while applying a transition. */
export interface CallTransitionSettings {
  /**
   * How long a change stays "being published" before a retry of its event may publish it
   * again (after a crash between the store write and the bus publish).
   */
  publishLeaseMs: number;
  /** How long an ended (or never active) call is kept after its last change. */
  endedCallRetentionMs: number;
  /**
   * How long an active call that has not been answered (`queued`, `ringing`) may go without a
   * change before the reaper closes it. A store indexes each active call by when it goes stale
   * (`staleAfterMsOf`), from the settings of the transition that changed it last.
   */
  staleAfterMs: number;
  /** The same for an answered (`in-progress`) call: providers send nothing while it talks. */
  answeredStaleAfterMs: number;
  /** How long analytics buckets are kept, per granularity. */
  analyticsRetentionMs: Readonly<Record<AnalyticsGranularity, number>>;
}

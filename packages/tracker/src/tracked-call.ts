import type { CallDirection, CallStatus } from '@calltrack/core';

/**
 * What the tracker knows about one call: the state its events add up to. Published with every
 * event the tracker fans out (as `event.data.call`), returned by the queries and the HTTP API.
 *
 * Times are ISO 8601 (UTC). `startedAt`, `answeredAt` and `endedAt` come from the provider's
 * clock (`occurredAt`); `createdAt` and `updatedAt` from the tracker's.
 */
export interface TrackedCall {
  tenantId: string;
  /** The provider's call id. */
  callId: string;
  /** The provider of the first event seen for the call. */
  provider: string;
  /**
   * The call's status. Undefined while only enrichment events (an analysis, a recording) have
   * been seen, e.g. for a call that started before the tracker did: such a call is not active.
   */
  status?: CallStatus;
  /** True while the status is `queued`, `ringing` or `in-progress`. */
  active: boolean;
  branchId?: string;
  agentId?: string;
  userId?: string;
  direction?: CallDirection;
  /** Caller, E.164 where derivable. Personal data: mask it before logging. */
  from?: string;
  /** Callee, E.164 where derivable. Personal data: mask it before logging. */
  to?: string;
  /** The earliest `occurredAt` of the call's status events. */
  startedAt?: string;
  /** The earliest `occurredAt` of an `in-progress` event. */
  answeredAt?: string;
  /** The `occurredAt` of the `call.ended` that ended the call. */
  endedAt?: string;
  /**
   * Talk time in milliseconds: as the provider reported it, or else `endedAt - answeredAt`
   * (0 for an ended call that was never answered).
   */
  durationMs?: number;
  /** Answering-machine detection result. */
  answeredBy?: string;
  recordingUrl?: string;
  recordingDurationMs?: number;
  /** Post-call analysis as the provider reported it. */
  analysis?: Record<string, unknown>;
  cost?: { amount: number; currency: string };
  /** The provider's reason for the end, e.g. `user_hangup`. */
  disconnectionReason?: string;
  /** Why calltrack itself acted, e.g. `stale` for a call closed by the reaper. */
  reason?: string;
  /** When the tracker first saw the call. */
  createdAt: string;
  /** When an event last changed the call. */
  updatedAt: string;
  /**
   * How many events changed the call; grows with every change, so a client holding two
   * snapshots of one call keeps the one with the higher version.
   */
  version: number;
}

/** Active calls of one tenant, counted. */
export interface ActiveCallCount {
  /** Every active call of the tenant. */
  total: number;
  /** Active calls per branch; calls without a branch are counted only in `total`. */
  byBranch: Record<string, number>;
}

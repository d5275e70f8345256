/**
 * `data` of `dialer.run_started`: a run over a user's pending leads began. The event has
 * `userId` set (it is meant for that user) and `provider: 'calltrack'`.
 */
export interface DialerRunStartedData {
  runId: string;
  /** `trigger` (asked for), `follow_up` (asked for while the previous run was active). */
  cause: 'trigger' | 'follow_up';
}

/** `data` of `dialer.lead_skipped`: a gate kept a lead from being claimed (`userId` set). */
export interface DialerLeadSkippedData {
  runId: string;
  leadId: string;
  /** A `SkipReason`. */
  reason: string;
  /** When the lead can pass the gate that stopped it (ISO 8601), when known. */
  retryAt?: string;
}

/**
 * `data` of `dialer.call_placed`: the provider accepted a call for a lead. The event carries
 * `userId`, the call's `provider`, `callId` (when the provider returned one at once; CallerDesk
 * may not), `to` and `direction: 'outbound'`; the tracker's `call.*` events for that `callId`
 * (or `reference`) follow.
 */
export interface DialerCallPlacedData {
  runId: string;
  leadId: string;
  attemptId: string;
  /** What the provider was given as the call's reference: the attempt id. */
  reference: string;
  /** The provider account (the dialer's `accounts[].id`) the call went out on. */
  account: string;
}

/** `data` of `dialer.run_finished`: what one run did (`userId` set). */
export interface DialerRunFinishedData {
  runId: string;
  /** Calls the provider accepted. */
  placed: number;
  /** Leads a gate skipped. */
  skipped: number;
  /** Calls the provider refused outright (the lead is pending again). */
  refused: number;
  /**
   * Calls whose outcome is unknown (a timeout, a 5xx): settled by webhooks or `lookupCall`,
   * redialled only when `lookupCall` answers that no call was made.
   */
  unknown: number;
  /** Leads another worker held or had claimed first. */
  notClaimed: number;
  /** Why the run ended early, if it did: `lease_lost`, `stopped` or `error`. */
  stoppedBy?: 'lease_lost' | 'stopped' | 'error';
  /** The earliest `retryAt` of the skipped leads (ISO 8601): when a new run may call some. */
  nextRetryAt?: string;
  /**
   * As on `dialer.run_started`, so that a process which missed the start still knows the run.
   * Always set by this version; absent from events published by earlier versions.
   */
  cause?: 'trigger' | 'follow_up';
  /** When the run started (ISO 8601, by the dialer's clock); absent like `cause`. */
  startedAt?: string;
}

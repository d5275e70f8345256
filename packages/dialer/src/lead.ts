import type { CallStatus } from '@calltrack/core';

/**
 * Where a lead stands, in the lead's `call_status` column:
 * - `pending`: not called yet (with `hasBeenCalled: false`); the dialer may claim it;
 * - `dialing`: claimed by an attempt, the call is being placed;
 * - `placed`: the provider accepted the call; its webhooks follow;
 * - `unknown`: placing the call failed ambiguously (a timeout, a 5xx): it may have been placed.
 *   Settled by the provider's webhooks or a call lookup; dialled again only when `lookupCall`
 *   answers that no call was made (`{ placed: false }`);
 * - `completed`: the call ended (`callOutcome` says how);
 * - `orphaned`: an attempt was left unfinished (its process died after the claim, or an `unknown`
 *   was never settled). Kept for review, never redialled automatically.
 *
 * Every status but `pending` has `hasBeenCalled: true`.
 */
export type LeadCallStatus =
  | 'pending'
  | 'dialing'
  | 'placed'
  | 'unknown'
  | 'completed'
  | 'orphaned';

/** Every {@link LeadCallStatus}. */
export const leadCallStatuses: readonly LeadCallStatus[] = [
  'pending',
  'dialing',
  'placed',
  'unknown',
  'completed',
  'orphaned',
];

/** A lead as the app loads it into a store (see `LeadStore.addLeads`). */
export interface LeadInput {
  tenantId: string;
  /** The lead's id, unique within its tenant. */
  leadId: string;
  /** The user whose run calls the lead (Socket.IO: its room is `userRoom(tenantId, userId)`). */
  userId: string;
  /** The number to call, E.164. A lead without a valid one is skipped with `invalid_phone`. */
  phoneNumber: string;
  /**
   * The lead's IANA time zone (`America/New_York`): calling windows are in the lead's local time.
   * A lead without one is skipped with `missing_time_zone` unless the dialer has a default.
   */
  timeZone?: string;
}

/** A lead as a store returns it: what the app loaded, plus what the dialer recorded. */
export interface Lead extends Omit<LeadInput, 'timeZone'> {
  timeZone: string | undefined;
  callStatus: LeadCallStatus;
  /** True once an attempt claimed the lead; false again only if the provider refused the call. */
  hasBeenCalled: boolean;
  /** How many attempts claimed the lead. */
  attemptCount: number;
  /** When the last attempt claimed it (ms since the epoch). */
  lastAttemptAt: number | undefined;
  /** The current (or last) attempt. */
  attemptId: string | undefined;
  /**
   * The fencing token of the current attempt: rises with every claim and every take-over (an
   * orphaned attempt). Writes about an attempt carry it; a write with an older token changes
   * nothing. 0 for a lead never claimed.
   */
  fence: number;
  /** The provider and call id of the last placed call, once known. */
  provider: string | undefined;
  callId: string | undefined;
  /** How the last call ended, for a `completed` lead. */
  callOutcome: CallStatus | undefined;
  /** Why the dialer last skipped the lead (a {@link SkipReason}), while it stays pending. */
  skipReason: string | undefined;
  /** When the dialer last skipped it. */
  skippedAt: number | undefined;
}

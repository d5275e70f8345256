import type { CallStatus } from '@calltrack/core';
import type { Lead, LeadCallStatus } from './lead';
import type { ClaimLeadsRequest } from './lead-store';

/**
 * Where an attempt stands:
 * - `claimed`: the lead was claimed; the dial has not answered yet. Leased until `leaseUntil`;
 * - `placed`: the provider accepted the call;
 * - `unknown`: the dial failed ambiguously; leased until `leaseUntil` for the webhooks to settle it;
 * - `released`: the provider refused the call (a definite 4xx): nothing was placed and the lead is
 *   pending again;
 * - `ended`: the call ended (`outcome`);
 * - `orphaned`: the lease ran out with the attempt `claimed` or `unknown`, or its lead was deleted
 *   or is on another attempt (reason `lead_gone` / `lead_moved_on`): kept for review.
 */
export type AttemptState = 'claimed' | 'placed' | 'unknown' | 'released' | 'ended' | 'orphaned';

/** One attempt at calling a lead: made by a claim, moved on by fenced writes. */
export interface LeadAttempt {
  tenantId: string;
  leadId: string;
  userId: string;
  /** A random id, sent to the provider as the call's `reference`. */
  attemptId: string;
  /** The fencing token the attempt holds (the lead's `fence`). */
  fence: number;
  state: AttemptState;
  /** When the claim was made (ms since the epoch). */
  claimedAt: number;
  /** For `claimed` and `unknown`: when the reconciler may orphan it. */
  leaseUntil: number | undefined;
  /** When a write last changed it. */
  updatedAt: number;
  /** The provider and call id once known. */
  provider: string | undefined;
  callId: string | undefined;
  /** How the call ended (`ended`). */
  outcome: CallStatus | undefined;
  /** Why it was released, orphaned or settled (a short code or the provider's message). */
  reason: string | undefined;
  /** Who claimed it: the dialer instance's id. */
  claimedBy: string | undefined;
}

/**
 * The lead as a claim leaves it, as every store answers it: dialling, called, the claim's attempt
 * and fence, and nothing left of an earlier attempt or skip. `lead` gives who and where.
 *
 * Both builders list every field rather than spread their inputs: on Node 20 a spread followed
 * by more fields cost about 10 µs a claim (a third of the Redis claim's client time), a literal
 * 0.1 µs (decision 0042).
 */
export function claimedLead(
  request: Pick<ClaimLeadsRequest, 'now'>,
  lead: Pick<Lead, 'tenantId' | 'leadId' | 'userId' | 'phoneNumber' | 'timeZone'>,
  claim: { attemptId: string; fence: number; attemptCount: number },
): Lead {
  return {
    tenantId: lead.tenantId,
    leadId: lead.leadId,
    userId: lead.userId,
    phoneNumber: lead.phoneNumber,
    timeZone: lead.timeZone,
    callStatus: 'dialing',
    hasBeenCalled: true,
    attemptCount: claim.attemptCount,
    lastAttemptAt: request.now,
    attemptId: claim.attemptId,
    fence: claim.fence,
    provider: undefined,
    callId: undefined,
    callOutcome: undefined,
    skipReason: undefined,
    skippedAt: undefined,
  };
}

/** The attempt a claim makes, as every store answers it: `claimed`, leased for `leaseMs` from `now`. */
export function claimedAttempt(
  request: Pick<ClaimLeadsRequest, 'tenantId' | 'now' | 'leaseMs' | 'claimedBy'>,
  claim: { leadId: string; userId: string; attemptId: string; fence: number },
): LeadAttempt {
  return {
    tenantId: request.tenantId,
    leadId: claim.leadId,
    userId: claim.userId,
    attemptId: claim.attemptId,
    fence: claim.fence,
    state: 'claimed',
    claimedAt: request.now,
    leaseUntil: request.now + request.leaseMs,
    updatedAt: request.now,
    provider: undefined,
    callId: undefined,
    outcome: undefined,
    reason: undefined,
    claimedBy: request.claimedBy,
  };
}

/** The states an attempt may move to from each state. */
export const attemptTransitions: Readonly<Record<AttemptState, readonly AttemptState[]>> = {
  claimed: ['placed', 'unknown', 'released', 'orphaned'],
  // `placed` → `placed` records the call id a webhook brought (CallerDesk answers without one).
  placed: ['placed', 'ended'],
  unknown: ['placed', 'ended', 'released', 'orphaned'],
  released: [],
  ended: [],
  // The provider's webhooks may still prove the call happened; a reviewer may release the lead.
  orphaned: ['placed', 'ended', 'released'],
};

/** True when an attempt in state `from` may move to `to`. */
export function canMoveAttempt(from: AttemptState, to: AttemptState): boolean {
  return attemptTransitions[from].includes(to);
}

/** The lead status an attempt in each state leaves its lead in. */
export const leadStatusOfAttempt: Readonly<Record<AttemptState, LeadCallStatus>> = {
  claimed: 'dialing',
  placed: 'placed',
  unknown: 'unknown',
  released: 'pending',
  ended: 'completed',
  orphaned: 'orphaned',
};

import type { CallStatus } from '@calltrack/core';
import type { Lead, LeadInput } from './lead';
import type { AttemptState, LeadAttempt } from './lead-attempt';

/** What {@link LeadStore.addLeads} did. */
export interface AddLeadsResult {
  /** Leads that were new and are now pending. */
  added: number;
  /**
   * Leads the store already had for the same user: left exactly as they were (a reloaded list
   * never resets one).
   */
  existing: number;
  /**
   * Leads the store already had for another user of the same tenant (a lead id is unique per
   * tenant, not per user), or for no user (a row of your table without an owner): left exactly
   * as they were (another user's stays theirs), and named here once each, in the order given.
   * Every other lead of the call was added or counted as existing.
   */
  conflicts: { tenantId: string; leadId: string }[];
}

/** Which pending leads {@link LeadStore.listPendingLeads} returns. */
export interface ListPendingLeadsQuery {
  tenantId: string;
  userId: string;
  /** Only leads whose id sorts after this one (the store's order): for paging. */
  afterLeadId?: string;
  /** At most this many; fewer only when no more are left (paging stops at a short page). */
  limit: number;
}

/** Which leads {@link LeadStore.listLeads} returns. */
export interface ListLeadsQuery {
  tenantId: string;
  userId: string;
  /** Only leads whose id sorts after this one (the store's order): for paging. */
  afterLeadId?: string;
  /** At most this many; fewer only when no more are left (paging stops at a short page). */
  limit: number;
}

/** What {@link LeadStore.claimLeads} claims. */
export interface ClaimLeadsRequest {
  tenantId: string;
  /** The leads to claim (already through the gates). Each is claimed at most once. */
  leadIds: readonly string[];
  /** Now, by the dialer's clock (ms since the epoch). */
  now: number;
  /** How long the attempt is leased: the reconciler orphans it after `now + leaseMs`. */
  leaseMs: number;
  /** Who claims: the dialer instance's id, recorded on the attempt. */
  claimedBy: string;
  /** Refuse leads already claimed this many times (`attempt_cap`). */
  maxAttempts?: number;
  /** Refuse leads whose last attempt was less than this long ago (`too_soon`). */
  minAttemptGapMs?: number;
  /**
   * The leads as the gates checked them. A lead listed here is claimed only while its owner,
   * number and zone are still these (`changed` otherwise): a row edited between the gates and
   * the claim (your CRM's table) is not dialled with values no gate saw. Leads not listed are
   * claimed whatever they hold.
   */
  checked?: readonly CheckedLead[];
}

/** A lead's fields as the dialer's gates checked them, for {@link ClaimLeadsRequest.checked}. */
export type CheckedLead = Pick<Lead, 'leadId' | 'userId' | 'phoneNumber' | 'timeZone'>;

/**
 * Why a lead was not claimed. `changed`: its owner, number or zone is no longer what the gates
 * checked (see {@link ClaimLeadsRequest.checked}); it stays pending, as it is.
 */
export type ClaimRefusal =
  | 'not_found'
  | 'not_pending'
  | 'attempt_cap'
  | 'too_soon'
  | 'busy'
  | 'changed';

/** What {@link LeadStore.claimLeads} answered, per lead asked for. */
export type ClaimResult =
  | { leadId: string; claimed: true; lead: Lead; attempt: LeadAttempt }
  | { leadId: string; claimed: false; reason: ClaimRefusal };

/**
 * A fenced write about one attempt. It changes something only while the lead's current attempt
 * is `attemptId` with fencing token `fence`, and the move is allowed from the attempt's state
 * (see `attemptTransitions`).
 */
export interface AttemptUpdate {
  tenantId: string;
  leadId: string;
  attemptId: string;
  fence: number;
  /** The attempt's new state. */
  state: AttemptState;
  /** Now, by the dialer's clock. */
  now: number;
  /** For `unknown`: how long the webhooks have to settle it before it is orphaned. */
  leaseMs?: number;
  provider?: string;
  callId?: string;
  /** For `ended`: the call's terminal status. */
  outcome?: CallStatus;
  reason?: string;
  /**
   * For `orphaned`: take the attempt over. The lead's fence rises, so the holder that lost its
   * lease can no longer write about the attempt.
   */
  takeOver?: boolean;
}

/** Why a fenced write changed nothing. */
export type AttemptUpdateRefusal = 'not_found' | 'stale' | 'invalid_transition';

/** What {@link LeadStore.updateAttempt} did. */
export type AttemptUpdateResult =
  | { applied: true; lead: Lead; attempt: LeadAttempt }
  | { applied: false; reason: AttemptUpdateRefusal; lead?: Lead; attempt?: LeadAttempt };

/** A skip to record on a pending lead. */
export interface LeadSkip {
  tenantId: string;
  leadId: string;
  /** A {@link SkipReason} or your own code. */
  reason: string;
  now: number;
}

/** Which attempts {@link LeadStore.listExpiredAttempts} returns. */
export interface ListExpiredAttemptsQuery {
  /** Attempts `claimed` or `unknown` whose lease ended at or before this time. */
  now: number;
  limit: number;
}

/** An expired or placed attempt the reconciler found cut off from its lead, for {@link LeadStore.orphanDetachedAttempt}. */
export interface DetachedAttempt {
  tenantId: string;
  /** The attempt's lead (gone, or on another attempt now). */
  leadId: string;
  attemptId: string;
  /** Now, by the dialer's clock. */
  now: number;
  /** Recorded on the attempt: `lead_gone`, `lead_moved_on`. */
  reason: string;
  /**
   * What `lookupCall` learned of the attempt's call, kept on the orphan as a fenced write would
   * have recorded it (`outcome`: the call ended, and how; `callId`: the call's id, when the
   * attempt had none). The attempt is orphaned all the same: no write reaches its lead.
   */
  call?: { callId?: string; outcome?: CallStatus };
}

/** One expired attempt for {@link LeadStore.orphanExpiredAttempts}, as `listExpiredAttempts` read it. */
export interface ExpiredAttempt {
  tenantId: string;
  leadId: string;
  attemptId: string;
  /** The fence it was read with: the take-over applies only while the lead still holds it. */
  fence: number;
  /** Recorded on a taken-over attempt: `lease_expired` (it was `claimed`), `unsettled` (`unknown`). */
  reason: string;
}

/** What {@link LeadStore.orphanExpiredAttempts} orphans. */
export interface OrphanExpiredAttemptsRequest {
  /** Now, by the dialer's clock. */
  now: number;
  attempts: readonly ExpiredAttempt[];
}

/**
 * What {@link LeadStore.orphanExpiredAttempts} did to one attempt:
 * - `orphaned`: taken over, as `updateAttempt` with `state: 'orphaned'` and `takeOver` does: the
 *   attempt and its lead are `orphaned`, the fence rose, the attempt has the request's reason;
 * - `lead_gone` / `lead_moved_on`: cut off from its lead (deleted, or on another attempt now): only
 *   the attempt is orphaned, as `orphanDetachedAttempt` does, with that reason;
 * - `unchanged`: it moved on since it was read (a webhook, another reconciler): nothing changed.
 */
export type ExpiredAttemptOutcome = 'orphaned' | 'lead_gone' | 'lead_moved_on' | 'unchanged';

/** Which attempts {@link LeadStore.listPlacedAttempts} returns. */
export interface ListPlacedAttemptsQuery {
  /** Only attempts no write changed after this time (ms since the epoch). */
  updatedBefore: number;
  /** Only attempts claimed after this time. */
  claimedAfter: number;
  limit: number;
}

/** Which attempts {@link LeadStore.listAttempts} returns. */
export interface ListAttemptsQuery {
  tenantId: string;
  /** Only attempts in this state (e.g. `orphaned`, for review). */
  state?: AttemptState;
  /** Only this user's. */
  userId?: string;
  limit: number;
}

/** Which live attempts {@link LeadStore.countLiveAttempts} counts. */
export interface CountLiveAttemptsQuery {
  tenantId: string;
  userId: string;
  /** Only attempts claimed at or after this time (so a call whose end never arrived ages out). */
  since: number;
}

/**
 * Where leads and their attempts live: the system of record for "called once, ever".
 *
 * The one rule: a lead is claimed by **one atomic conditional write** that marks it
 * (`hasBeenCalled: true`) and records an attempt with a fencing token; every later write about
 * the attempt is fenced by that token. Locks around it are for efficiency only.
 *
 * Built in: memory (`createMemoryLeadStore`), Redis (`@calltrack/dialer/redis`) and PostgreSQL
 * (`@calltrack/dialer/postgres`). Bring your own by passing the suite from
 * `@calltrack/dialer/testing`. Times are passed in (`now`): stores never read a clock.
 */
export interface LeadStore {
  /**
   * Adds leads as pending. A lead the store already has (same tenant and id) is left as it is,
   * so loading a list again never makes a called lead callable: counted as `existing` when it is
   * the same user's, named in `conflicts` when it is another user's. Rejects with
   * `InvalidLeadError` (nothing added) when an input is not a lead.
   */
  addLeads(leads: readonly LeadInput[]): Promise<AddLeadsResult>;
  /** One lead, or undefined. */
  getLead(tenantId: string, leadId: string): Promise<Lead | undefined>;
  /**
   * A user's pending leads (`callStatus = pending AND hasBeenCalled = false`), in the store's
   * order of lead ids.
   */
  listPendingLeads(query: ListPendingLeadsQuery): Promise<Lead[]>;
  /**
   * A user's leads in every status (for a leads page: pending, dialling, completed, skipped with
   * their reasons), in the same order as `listPendingLeads`.
   */
  listLeads(query: ListLeadsQuery): Promise<Lead[]>;
  /**
   * Claims leads, each in one atomic conditional write: only a pending lead not called yet (and
   * within the attempt cap and gap) is claimed; it becomes `dialing`, `hasBeenCalled` turns
   * true, its fence rises and a `claimed` attempt is recorded. Concurrent claimers of one lead:
   * exactly one wins. A lead another claim is holding at that moment is answered `busy`.
   */
  claimLeads(request: ClaimLeadsRequest): Promise<ClaimResult[]>;
  /** A fenced write about an attempt; see {@link AttemptUpdate}. */
  updateAttempt(update: AttemptUpdate): Promise<AttemptUpdateResult>;
  /**
   * Records why pending leads were skipped (they stay pending), as one write where the store can
   * (the dialer hands it a page's skips: one statement, one script per tenant). A skip of a lead
   * not pending, or unknown, is ignored; of a lead named twice, the last one stands.
   */
  recordSkips(skips: readonly LeadSkip[]): Promise<void>;
  /** One attempt by id, or undefined. */
  getAttempt(tenantId: string, attemptId: string): Promise<LeadAttempt | undefined>;
  /** The attempt that placed a provider's call, or undefined. */
  findAttemptByCall(
    tenantId: string,
    provider: string,
    callId: string,
  ): Promise<LeadAttempt | undefined>;
  /** Attempts of every tenant whose lease ran out while `claimed` or `unknown`, oldest first. */
  listExpiredAttempts(query: ListExpiredAttemptsQuery): Promise<LeadAttempt[]>;
  /**
   * Orphans an attempt cut off from its lead: one still `claimed`, `placed` or `unknown` whose
   * lead is gone (deleted from your table) or is on another attempt now, so no fenced write can
   * ever move it. Only the attempt changes (`orphaned`, the reason, no lease, and the call id and
   * outcome `call` gives, as a lookup learned them): it leaves
   * `listExpiredAttempts`, `listPlacedAttempts` and `countLiveAttempts`, and is listed for
   * review. Answers the attempt as orphaned, or undefined when it changed nothing: the attempt is
   * unknown, is not `claimed`, `placed` or `unknown`, is not of `leadId`, or is still its lead's
   * current attempt (`updateAttempt` takes that over).
   */
  orphanDetachedAttempt(attempt: DetachedAttempt): Promise<LeadAttempt | undefined>;
  /**
   * Optional: orphans a batch of expired attempts, each exactly as the reconciler would one at a
   * time with `updateAttempt` (`orphaned`, `takeOver`, the attempt's reason) and, when the lead
   * is gone or on another attempt, `orphanDetachedAttempt` (`lead_gone` / `lead_moved_on`).
   * Answers one outcome per attempt, in the order given. Each attempt must come out as one of
   * those, also when two reconcilers orphan the same batch at once (one of them wins each
   * attempt) or a process dies midway (what it did holds, and a repeat finishes the rest). A
   * store without it is orphaned one attempt at a time.
   */
  orphanExpiredAttempts?(request: OrphanExpiredAttemptsRequest): Promise<ExpiredAttemptOutcome[]>;
  /**
   * Attempts of every tenant still `placed` (no end recorded), changed at or before
   * `updatedBefore` and claimed after `claimedAfter`, least recently changed first: the
   * reconciler asks `lookupCall` whether their calls ended while no dialer followed the bus.
   * Optional: a store without it has such calls looked up by no one.
   */
  listPlacedAttempts?(query: ListPlacedAttemptsQuery): Promise<LeadAttempt[]>;
  /** A tenant's attempts, newest first (optionally one state, one user). */
  listAttempts(query: ListAttemptsQuery): Promise<LeadAttempt[]>;
  /** How many of a user's attempts are `claimed`, `placed` or `unknown` (calls in flight). */
  countLiveAttempts(query: CountLiveAttemptsQuery): Promise<number>;
}

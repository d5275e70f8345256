import type { Lead } from './lead';
import { canMoveAttempt, type LeadAttempt, leadStatusOfAttempt } from './lead-attempt';
import type { AttemptUpdate, AttemptUpdateResult } from './lead-store';

/**
 * The rules of a fenced write, as one pure function: the memory store applies it as it is, and
 * the Redis script and the PostgreSQL statement implement the same rules (the conformance suite
 * holds them to it). Returns new objects; the inputs are not changed.
 */
export function applyAttemptUpdate(
  lead: Lead | undefined,
  attempt: LeadAttempt | undefined,
  update: AttemptUpdate,
): AttemptUpdateResult {
  if (lead === undefined) return { applied: false, reason: 'not_found' };
  if (lead.attemptId !== update.attemptId || lead.fence !== update.fence) {
    return { applied: false, reason: 'stale', lead, ...(attempt ? { attempt } : {}) };
  }
  if (attempt === undefined) return { applied: false, reason: 'not_found', lead };
  if (!canMoveAttempt(attempt.state, update.state)) {
    return { applied: false, reason: 'invalid_transition', lead, attempt };
  }
  const fence = update.takeOver === true ? lead.fence + 1 : lead.fence;
  const nextAttempt: LeadAttempt = {
    ...attempt,
    fence,
    state: update.state,
    updatedAt: update.now,
    leaseUntil: update.state === 'unknown' ? update.now + (update.leaseMs ?? 0) : undefined,
    provider: update.provider ?? attempt.provider,
    callId: update.callId ?? attempt.callId,
    outcome: update.outcome ?? attempt.outcome,
    reason: update.reason ?? attempt.reason,
  };
  const nextLead: Lead = {
    ...lead,
    fence,
    callStatus: leadStatusOfAttempt[update.state],
    hasBeenCalled: update.state !== 'released',
    provider: nextAttempt.provider,
    callId: nextAttempt.callId,
    callOutcome: nextAttempt.outcome,
  };
  return { applied: true, lead: nextLead, attempt: nextAttempt };
}

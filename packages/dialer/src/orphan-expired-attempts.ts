import type {
  ExpiredAttempt,
  ExpiredAttemptOutcome,
  LeadStore,
  OrphanExpiredAttemptsRequest,
} from './lead-store';

/**
 * Orphans one expired attempt with the store's fenced write, as the reconciler does for a store
 * without `orphanExpiredAttempts` (and for a batch its store failed): take it over; if its lead
 * is gone or on another attempt, which no fenced write can move, orphan the attempt on its own.
 * Rejects when the store does.
 */
export async function orphanExpiredAttempt(
  store: LeadStore,
  attempt: ExpiredAttempt,
  now: number,
): Promise<ExpiredAttemptOutcome> {
  const { tenantId, leadId, attemptId } = attempt;
  const result = await store.updateAttempt({
    tenantId,
    leadId,
    attemptId,
    fence: attempt.fence,
    state: 'orphaned',
    now,
    takeOver: true,
    reason: attempt.reason,
  });
  if (result.applied) return 'orphaned';
  const gone = result.lead === undefined;
  if (result.lead?.attemptId === attemptId) return 'unchanged';
  const reason = gone ? 'lead_gone' : 'lead_moved_on';
  const detached = await store.orphanDetachedAttempt({ tenantId, leadId, attemptId, now, reason });
  return detached === undefined ? 'unchanged' : reason;
}

/**
 * Orphans a batch of expired attempts: with the store's `orphanExpiredAttempts` when it has one,
 * else one at a time ({@link orphanExpiredAttempt}). One outcome per attempt, in order.
 */
export async function orphanExpiredAttempts(
  store: LeadStore,
  request: OrphanExpiredAttemptsRequest,
): Promise<ExpiredAttemptOutcome[]> {
  if (store.orphanExpiredAttempts) return await store.orphanExpiredAttempts(request);
  const outcomes: ExpiredAttemptOutcome[] = [];
  for (const attempt of request.attempts) {
    outcomes.push(await orphanExpiredAttempt(store, attempt, request.now));
  }
  return outcomes;
}

import { expect } from 'vitest';
import { createTestClock } from '../create-test-clock';
import type { LeadStore } from '../lead-store';
import { createReconcilingDialer } from './create-reconciling-dialer';

/**
 * The reconciler asks `lookupCall` about placed calls 100 at a time, least recently changed
 * first. Here 100 of them belong to leads your app removed (a CRM clean-up), and one more, whose
 * call ended while no dialer followed the bus, to a lead that is still there: the reconciler
 * asks about the 100 once (orphaning them for review, as leads gone, since no write can move
 * them any more), then about the live one, which it settles; and no one is asked twice. An
 * orphan keeps what its lookup learned (the call ended, and how), as does an expired `unknown`
 * attempt of a removed lead whose lookup found its call.
 */
export async function checkLookupPastRemovedLeads(
  store: LeadStore,
  tenantId: string,
  removeLeads: (leadIds: string[]) => Promise<void>,
): Promise<void> {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');
  const leadIds = Array.from({ length: 101 }, (_, index) => `lead-${index}`);
  const removed = leadIds.slice(0, 100);
  const kept = leadIds[100]!;
  await store.addLeads(
    leadIds.map((leadId) => ({ tenantId, leadId, userId: 'u1', phoneNumber: '+14155550100' })),
  );
  for (const [index, leadId] of leadIds.entries()) {
    const [claim] = await store.claimLeads({
      tenantId,
      leadIds: [leadId],
      now: t0 + index,
      leaseMs: 60_000,
      claimedBy: 'stopped',
    });
    if (!claim?.claimed) throw new Error(`${leadId} not claimed`);
    const placed = await store.updateAttempt({
      tenantId,
      leadId,
      attemptId: claim.attempt.attemptId,
      fence: claim.attempt.fence,
      state: 'placed',
      now: t0 + index,
      provider: 'twilio',
      callId: `CA-${index}`,
    });
    expect(placed.applied).toBe(true);
  }
  // An ambiguous dial (no call id) whose lead is removed too; its lookup finds the call.
  await store.addLeads([{ tenantId, leadId: 'lead-unknown', userId: 'u1', phoneNumber: '+1415' }]);
  const [unknownClaim] = await store.claimLeads({
    tenantId,
    leadIds: ['lead-unknown'],
    now: t0,
    leaseMs: 60_000,
    claimedBy: 'stopped',
  });
  if (!unknownClaim?.claimed) throw new Error('lead-unknown not claimed');
  const unknown = unknownClaim.attempt;
  await store.updateAttempt({
    tenantId,
    leadId: unknown.leadId,
    attemptId: unknown.attemptId,
    fence: unknown.fence,
    state: 'unknown',
    now: t0,
    leaseMs: 60_000,
    provider: 'twilio',
  });
  await removeLeads([...removed, 'lead-unknown']);

  const clock = createTestClock(t0 + 20 * 60_000);
  const asked: string[] = [];
  const dialer = createReconcilingDialer(store, clock, {
    provider: 'twilio',
    lookupCall: async (attempt) => {
      asked.push(attempt.callId ?? '');
      if (attempt.attemptId === unknown.attemptId) {
        return { placed: true, callId: 'CA-unknown', status: 'no-answer' };
      }
      return { placed: true, status: 'completed' };
    },
  });
  const passes = [];
  for (let pass = 0; pass < 3; pass += 1) {
    passes.push(await dialer.reconcile());
    await clock.advance(30_000);
  }
  expect(passes).toEqual([
    { orphaned: 101, settled: 0 },
    { orphaned: 0, settled: 1 },
    { orphaned: 0, settled: 0 },
  ]);
  expect(asked).toHaveLength(102);
  expect(asked).toContain('CA-100');
  expect(await store.getLead(tenantId, kept)).toMatchObject({
    callStatus: 'completed',
    callOutcome: 'completed',
  });
  const orphans = await store.listAttempts({ tenantId, state: 'orphaned', limit: 1_000 });
  const placedOrphans = orphans.filter((attempt) => attempt.attemptId !== unknown.attemptId);
  expect(placedOrphans.map(({ reason, outcome }) => [reason, outcome])).toEqual(
    removed.map(() => ['lead_gone', 'completed']),
  );
  expect(await store.getAttempt(tenantId, unknown.attemptId)).toMatchObject({
    state: 'orphaned',
    reason: 'lead_gone',
    outcome: 'no-answer',
    callId: 'CA-unknown',
  });
  expect(await store.findAttemptByCall(tenantId, 'twilio', 'CA-unknown')).toMatchObject({
    attemptId: unknown.attemptId,
  });
  expect(await store.countLiveAttempts({ tenantId, userId: 'u1', since: 0 })).toBe(0);
  expect(
    await store.listPlacedAttempts?.({ updatedBefore: clock.now(), claimedAfter: 0, limit: 10 }),
  ).toEqual([]);
}

import { expect } from 'vitest';
import { createTestClock } from '../create-test-clock';
import type { LeadStore } from '../lead-store';
import { createReconcilingDialer } from './create-reconciling-dialer';

/**
 * The reconciler reads expired attempts 500 at a time, oldest first. Here 500 of them belong to
 * leads your app removed (deleted rows), and one more, newer, to a lead that is still there: the
 * reconciler must get past the 500 (orphaning them for review, as leads gone) and orphan the
 * live one on its next pass, and then find nothing left.
 */
export async function checkReconcilerPastRemovedLeads(
  store: LeadStore,
  tenantId: string,
  removeLeads: (leadIds: string[]) => Promise<void>,
): Promise<void> {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');
  const leadIds = Array.from(
    { length: 501 },
    (_, index) => `lead-${String(index).padStart(4, '0')}`,
  );
  const removed = leadIds.slice(0, 500);
  const kept = leadIds[500]!;
  await store.addLeads(
    leadIds.map((leadId) => ({ tenantId, leadId, userId: 'u1', phoneNumber: '+14155550100' })),
  );
  const request = { tenantId, leaseMs: 60_000, claimedBy: 'crashed' };
  for (let start = 0; start < removed.length; start += 100) {
    const claims = await store.claimLeads({
      ...request,
      leadIds: removed.slice(start, start + 100),
      now: t0,
    });
    expect(claims.every((claim) => claim.claimed)).toBe(true);
  }
  const [live] = await store.claimLeads({ ...request, leadIds: [kept], now: t0 + 1_000 });
  expect(live?.claimed).toBe(true);
  await removeLeads(removed);

  const dialer = createReconcilingDialer(store, createTestClock(t0 + 120_000));
  // One pass reads the 500 oldest: the removed leads' attempts. The next gets to the live one.
  const passes = [await dialer.reconcile(), await dialer.reconcile(), await dialer.reconcile()];
  expect(passes).toEqual([
    { orphaned: 500, settled: 0 },
    { orphaned: 1, settled: 0 },
    { orphaned: 0, settled: 0 },
  ]);
  expect(await store.getLead(tenantId, kept)).toMatchObject({ callStatus: 'orphaned' });
  expect(await store.listExpiredAttempts({ now: t0 + 120_000, limit: 10 })).toEqual([]);
  const orphans = await store.listAttempts({ tenantId, state: 'orphaned', limit: 1_000 });
  const reasons = new Map<string, number>();
  for (const attempt of orphans) {
    reasons.set(attempt.reason ?? '', (reasons.get(attempt.reason ?? '') ?? 0) + 1);
  }
  expect(Object.fromEntries(reasons)).toEqual({ lead_gone: 500, lease_expired: 1 });
  expect(await store.countLiveAttempts({ tenantId, userId: 'u1', since: 0 })).toBe(0);
}

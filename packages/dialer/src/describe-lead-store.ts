import assert from 'node:assert/strict';
import type { ConformanceTestApi } from '@calltrack/core';
import type { LeadInput } from './lead';
import type { LeadAttempt } from './lead-attempt';
import type {
  ExpiredAttempt,
  ExpiredAttemptOutcome,
  LeadStore,
  OrphanExpiredAttemptsRequest,
} from './lead-store';
import { orphanExpiredAttempt, orphanExpiredAttempts } from './orphan-expired-attempts';

/** Options of {@link describeLeadStore}. */
export interface LeadStoreSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /** A fresh, empty store for one test, and what to run after it. */
  createStore: () => Promise<{ store: LeadStore; cleanup?: () => Promise<void> }>;
  /**
   * Deletes a lead of `store` behind its back, as your app may (a row of your own table); a lead
   * the store does not have is no error. Given, the suite checks that a deleted lead, pending or
   * being dialled, is gone for every operation (not read, listed, claimed, skipped or written
   * back by a fenced write) while its attempt stays for the reconciler, that one added again is
   * a new lead, and that the attempts of a deleted lead, or of one deleted and loaded again (on
   * another attempt now), can be orphaned, `placed` ones too. Give it whenever your app can
   * delete or reset your store's leads: without it those cases are not checked, and cannot be,
   * since no `LeadStore` operation cuts a live attempt off from its lead (only a claim moves a
   * lead to a new attempt; it needs the lead pending, and only a release, which ends the
   * attempt, makes it pending again). A store refusing to orphan such `placed` attempts keeps
   * the reconciler asking about them on every pass, ahead of the rest.
   */
  removeLead?: (store: LeadStore, tenantId: string, leadId: string) => Promise<void>;
}

const t0 = Date.parse('2026-03-02T15:00:00.000Z');
const lease = 30_000;
let tenantSequence = 0;

/**
 * The conformance suite every {@link LeadStore} passes: the memory, Redis and PostgreSQL stores
 * run it as it is. Call it from a test file with a factory for your own store (Prisma,
 * Drizzle…) to check it keeps the dialer's guarantees: one claim per lead, fenced writes, leads
 * never reset by a reload.
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describeLeadStore } from '@calltrack/dialer/testing';
 * describeLeadStore({ describe, it, afterEach }, {
 *   name: 'prisma',
 *   createStore: async () => ({ store: createPrismaLeadStore(prisma) }),
 * });
 */
export function describeLeadStore(test: ConformanceTestApi, options: LeadStoreSuiteOptions): void {
  const { describe, it, afterEach } = test;
  describe(`LeadStore conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    });

    // Each test gets its own tenant too, so stores that share a table stay independent.
    const setUp = async (
      count = 3,
      extra: Partial<LeadInput> = {},
    ): Promise<{ store: LeadStore; tenantId: string; ids: string[] }> => {
      const created = await options.createStore();
      if (created.cleanup) cleanups.push(created.cleanup);
      tenantSequence += 1;
      const tenantId = `suite-${process.pid}-${tenantSequence}`;
      const ids = Array.from(
        { length: count },
        (_, index) => `lead-${String(index).padStart(4, '0')}`,
      );
      await created.store.addLeads(ids.map((leadId) => lead(tenantId, leadId, extra)));
      return { store: created.store, tenantId, ids };
    };
    const claimOne = (store: LeadStore, tenantId: string, leadId: string, now = t0) =>
      store.claimLeads({ tenantId, leadIds: [leadId], now, leaseMs: lease, claimedBy: 'suite' });

    describe('leads', () => {
      it('adds leads as pending and never resets one that is already there', async () => {
        const setup = await setUp(2);
        const { store, tenantId } = setup;
        assertEqual(await store.getLead(tenantId, 'lead-0000'), {
          tenantId,
          leadId: 'lead-0000',
          userId: 'user-1',
          phoneNumber: '+14155550100',
          timeZone: 'America/New_York',
          callStatus: 'pending',
          hasBeenCalled: false,
          attemptCount: 0,
          lastAttemptAt: undefined,
          attemptId: undefined,
          fence: 0,
          provider: undefined,
          callId: undefined,
          callOutcome: undefined,
          skipReason: undefined,
          skippedAt: undefined,
        });
        await claimOne(store, tenantId, 'lead-0000');
        // The page is reloaded and the same list comes again, plus one new lead.
        const again = await store.addLeads([
          lead(tenantId, 'lead-0000', { phoneNumber: '+14155550999' }),
          lead(tenantId, 'lead-0001'),
          lead(tenantId, 'lead-0002'),
        ]);
        assertEqual(again, { added: 1, existing: 2, conflicts: [] });
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'dialing',
          hasBeenCalled: true,
          phoneNumber: '+14155550100',
          fence: 1,
        });
      });

      it('names a lead id another user of the tenant has as a conflict, leaves it theirs, and adds the rest', async () => {
        const { store, tenantId } = await setUp(0);
        const otherTenant = `${tenantId}-b`;
        await store.addLeads([lead(tenantId, 'crm-42', { userId: 'bob' })]);
        const result = await store.addLeads([
          lead(tenantId, 'crm-42', { userId: 'alice', phoneNumber: '+14155550999' }),
          lead(tenantId, 'crm-43', { userId: 'alice' }),
          lead(tenantId, 'crm-42', { userId: 'alice' }),
          // Another tenant's crm-42 is another lead.
          lead(otherTenant, 'crm-42', { userId: 'alice' }),
          // Named twice for two users: the first adds it, the second is a conflict.
          lead(tenantId, 'crm-44', { userId: 'alice' }),
          lead(tenantId, 'crm-44', { userId: 'bob' }),
        ]);
        assertEqual(result, {
          added: 3,
          existing: 0,
          conflicts: [
            { tenantId, leadId: 'crm-42' },
            { tenantId, leadId: 'crm-44' },
          ],
        });
        assertPartial(await store.getLead(tenantId, 'crm-42'), {
          userId: 'bob',
          phoneNumber: '+14155550100',
          callStatus: 'pending',
        });
        assertPartial(await store.getLead(tenantId, 'crm-44'), { userId: 'alice' });
        assertPartial(await store.getLead(otherTenant, 'crm-42'), { userId: 'alice' });
        const alices = await store.listLeads({ tenantId, userId: 'alice', limit: 10 });
        assertEqual(
          alices.map((found) => found.leadId),
          ['crm-43', 'crm-44'],
        );
        const bobs = await store.listPendingLeads({ tenantId, userId: 'bob', limit: 10 });
        assertEqual(
          bobs.map((found) => found.leadId),
          ['crm-42'],
        );
        // The owner's own reload is no conflict.
        assertEqual(await store.addLeads([lead(tenantId, 'crm-42', { userId: 'bob' })]), {
          added: 0,
          existing: 1,
          conflicts: [],
        });
      });

      it('keeps a lead whose number or zone is bad (the gates skip it), and has no lead it was not given', async () => {
        const setup = await setUp(0);
        const { store, tenantId } = setup;
        await store.addLeads([
          { tenantId, leadId: 'odd', userId: 'user-1', phoneNumber: 'call me maybe' },
        ]);
        assertPartial(await store.getLead(tenantId, 'odd'), {
          phoneNumber: 'call me maybe',
          timeZone: undefined,
          callStatus: 'pending',
        });
        assert.equal(await store.getLead(tenantId, 'missing'), undefined);
        assert.equal(await store.getLead('other-tenant', 'odd'), undefined);
      });

      it('refuses input that is not a lead, naming the field, and adds nothing', async () => {
        const setup = await setUp(0);
        const { store, tenantId } = setup;
        const bad = [
          lead(tenantId, 'fine'),
          { tenantId, leadId: '', userId: 'u', phoneNumber: '1' },
        ];
        await assertRejects(store.addLeads(bad), {
          code: 'invalid_lead',
          status: 400,
          field: 'leadId',
          index: 1,
        });
        await assertRejects(store.addLeads([{ tenantId, leadId: 'x' } as unknown as LeadInput]), {
          code: 'invalid_lead',
          field: 'userId',
        });
        assert.equal(await store.getLead(tenantId, 'fine'), undefined);
      });

      it("lists a user's pending leads in pages, each once, and nobody else's", async () => {
        const setup = await setUp(7);
        const { store, tenantId, ids } = setup;
        await store.addLeads([
          lead(tenantId, 'lead-other-user', { userId: 'user-2' }),
          lead(`${tenantId}-b`, 'lead-0000'),
        ]);
        await claimOne(store, tenantId, 'lead-0003');
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listPendingLeads({
            tenantId,
            userId: 'user-1',
            limit: 2,
            ...(after === undefined ? {} : { afterLeadId: after }),
          });
          if (page.length === 0) break;
          assert.ok(page.length <= 2);
          for (const found of page) assertPartial(found, { tenantId, userId: 'user-1' });
          seen.push(...page.map((found) => found.leadId));
          after = page.at(-1)!.leadId;
        }
        assertEqual(
          seen,
          ids.filter((id) => id !== 'lead-0003'),
        );
      });

      it("lists a user's leads in every status, in pages, and nobody else's", async () => {
        const setup = await setUp(5);
        const { store, tenantId, ids } = setup;
        await store.addLeads([
          lead(tenantId, 'lead-other-user', { userId: 'user-2' }),
          lead(`${tenantId}-b`, 'lead-0000'),
        ]);
        await claimOne(store, tenantId, 'lead-0001');
        await store.recordSkips([
          { tenantId, leadId: 'lead-0002', reason: 'do_not_call', now: t0 },
        ]);
        const seen: { leadId: string; callStatus: string; skipReason: string | undefined }[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.listLeads({
            tenantId,
            userId: 'user-1',
            limit: 2,
            ...(after === undefined ? {} : { afterLeadId: after }),
          });
          if (page.length === 0) break;
          assert.ok(page.length <= 2);
          for (const found of page) assertPartial(found, { tenantId, userId: 'user-1' });
          seen.push(
            ...page.map(({ leadId, callStatus, skipReason }) => ({
              leadId,
              callStatus,
              skipReason,
            })),
          );
          after = page.at(-1)!.leadId;
        }
        assertEqual(
          seen,
          ids.map((leadId) => ({
            leadId,
            callStatus: leadId === 'lead-0001' ? 'dialing' : 'pending',
            skipReason: leadId === 'lead-0002' ? 'do_not_call' : undefined,
          })),
        );
        assertEqual(
          (await store.listLeads({ tenantId, userId: 'user-2', limit: 10 })).map((l) => l.leadId),
          ['lead-other-user'],
        );
        assertEqual(await store.listLeads({ tenantId, userId: 'nobody', limit: 10 }), []);
      });

      it('records why a pending lead was skipped, and ignores a skip of a lead in a call', async () => {
        const setup = await setUp(2);
        const { store, tenantId } = setup;
        await store.recordSkips([
          { tenantId, leadId: 'lead-0000', reason: 'outside_window', now: t0 },
        ]);
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'pending',
          hasBeenCalled: false,
          skipReason: 'outside_window',
          skippedAt: t0,
        });
        await claimOne(store, tenantId, 'lead-0001');
        await store.recordSkips([
          { tenantId, leadId: 'lead-0001', reason: 'do_not_call', now: t0 },
          { tenantId, leadId: 'nobody', reason: 'do_not_call', now: t0 },
        ]);
        await store.recordSkips([]);
        assert.equal((await store.getLead(tenantId, 'lead-0001'))?.skipReason, undefined);
        // A later claim clears the skip.
        await claimOne(store, tenantId, 'lead-0000');
        assert.equal((await store.getLead(tenantId, 'lead-0000'))?.skipReason, undefined);
      });
      it('records a batch of skips at once: each pending lead its own, the last of a lead named twice, across tenants', async () => {
        const setup = await setUp(4);
        const { store, tenantId } = setup;
        const otherTenant = `${tenantId}-b`;
        await store.addLeads([lead(otherTenant, 'lead-0000')]);
        await claimOne(store, tenantId, 'lead-0003');
        await store.recordSkips([
          { tenantId, leadId: 'lead-0000', reason: 'outside_calling_window', now: t0 },
          { tenantId, leadId: 'lead-0001', reason: 'do_not_call', now: t0 + 1 },
          { tenantId, leadId: 'lead-0003', reason: 'do_not_call', now: t0 + 2 },
          { tenantId, leadId: 'nobody', reason: 'do_not_call', now: t0 + 3 },
          { tenantId: otherTenant, leadId: 'lead-0000', reason: 'invalid_phone', now: t0 + 4 },
          { tenantId, leadId: 'lead-0001', reason: 'too_soon', now: t0 + 5 },
        ]);
        const skipOf = async (tenant: string, leadId: string) => {
          const found = await store.getLead(tenant, leadId);
          return [found?.skipReason, found?.skippedAt];
        };
        assertEqual(
          [
            await skipOf(tenantId, 'lead-0000'),
            await skipOf(tenantId, 'lead-0001'),
            await skipOf(tenantId, 'lead-0002'),
            await skipOf(tenantId, 'lead-0003'),
            await skipOf(otherTenant, 'lead-0000'),
          ],
          [
            ['outside_calling_window', t0],
            ['too_soon', t0 + 5],
            [undefined, undefined],
            [undefined, undefined],
            ['invalid_phone', t0 + 4],
          ],
        );
        assert.equal(await store.getLead(tenantId, 'nobody'), undefined);
        assertPartial(await store.getLead(tenantId, 'lead-0001'), {
          callStatus: 'pending',
          hasBeenCalled: false,
        });
      });
    });

    describe('the claim', () => {
      it('marks the lead and records an attempt with a fencing token, once', async () => {
        const setup = await setUp(2);
        const { store, tenantId } = setup;
        const [result] = await claimOne(store, tenantId, 'lead-0000');
        assertPartial(result, { leadId: 'lead-0000', claimed: true });
        if (!result?.claimed) throw new Error('not claimed');
        assertPartial(result.lead, {
          callStatus: 'dialing',
          hasBeenCalled: true,
          attemptCount: 1,
          lastAttemptAt: t0,
          attemptId: result.attempt.attemptId,
          fence: 1,
        });
        assertEqual(result.attempt, {
          tenantId,
          leadId: 'lead-0000',
          userId: 'user-1',
          attemptId: anyString,
          fence: 1,
          state: 'claimed',
          claimedAt: t0,
          leaseUntil: t0 + lease,
          updatedAt: t0,
          provider: undefined,
          callId: undefined,
          outcome: undefined,
          reason: undefined,
          claimedBy: 'suite',
        });
        assertEqual(await store.getAttempt(tenantId, result.attempt.attemptId), result.attempt);
        assertEqual(await store.getLead(tenantId, 'lead-0000'), result.lead);
        assertEqual(await claimOne(store, tenantId, 'lead-0000', t0 + 1), [
          { leadId: 'lead-0000', claimed: false, reason: 'not_pending' },
        ]);
        assertEqual(await claimOne(store, tenantId, 'nobody'), [
          { leadId: 'nobody', claimed: false, reason: 'not_found' },
        ]);
        assertEqual(await claimOne(store, `${tenantId}-b`, 'lead-0001'), [
          { leadId: 'lead-0001', claimed: false, reason: 'not_found' },
        ]);
      });

      it('claims each lead of a batch once, even when named twice', async () => {
        const setup = await setUp(3);
        const { store, tenantId } = setup;
        const results = await store.claimLeads({
          tenantId,
          leadIds: ['lead-0000', 'lead-0001', 'lead-0000', 'nobody'],
          now: t0,
          leaseMs: lease,
          claimedBy: 'suite',
        });
        const byLead = new Map<string, string>();
        for (const result of results) {
          byLead.set(result.leadId, result.claimed ? 'claimed' : result.reason);
        }
        assertEqual(Object.fromEntries(byLead), {
          'lead-0000': 'claimed',
          'lead-0001': 'claimed',
          nobody: 'not_found',
        });
        assert.equal(results.filter((result) => result.claimed).length, 2);
        const pending = await store.listPendingLeads({ tenantId, userId: 'user-1', limit: 10 });
        assertEqual(
          pending.map((found) => found.leadId),
          ['lead-0002'],
        );
      });

      it('lets exactly one of many concurrent claimers win each lead', async () => {
        const setup = await setUp(20);
        const { store, tenantId, ids } = setup;
        const claimers = Array.from({ length: 8 }, (_, index) =>
          store.claimLeads({
            tenantId,
            leadIds: index % 2 === 0 ? ids : [...ids].reverse(),
            now: t0,
            leaseMs: lease,
            claimedBy: `claimer-${index}`,
          }),
        );
        const won = (await Promise.all(claimers)).flat().filter((result) => result.claimed);
        assertEqual(won.map((result) => result.leadId).sort(), ids);
        for (const leadId of ids) {
          assertPartial(await store.getLead(tenantId, leadId), {
            fence: 1,
            attemptCount: 1,
          });
        }
      });

      it('holds the attempt cap and the gap between attempts', async () => {
        const setup = await setUp(1);
        const { store, tenantId } = setup;
        const limits = { maxAttempts: 2, minAttemptGapMs: 120_000 };
        const claim = (now: number) =>
          store.claimLeads({
            tenantId,
            leadIds: ['lead-0000'],
            now,
            leaseMs: lease,
            claimedBy: 'suite',
            ...limits,
          });
        const release = async (now: number) => {
          const lead = await store.getLead(tenantId, 'lead-0000');
          const result = await store.updateAttempt({
            tenantId,
            leadId: 'lead-0000',
            attemptId: lead!.attemptId!,
            fence: lead!.fence,
            state: 'released',
            now,
            reason: 'invalid_number',
          });
          assert.equal(result.applied, true);
        };
        assert.equal((await claim(t0))[0]?.claimed, true);
        await release(t0 + 1000);
        assertEqual(await claim(t0 + 60_000), [
          { leadId: 'lead-0000', claimed: false, reason: 'too_soon' },
        ]);
        assert.equal((await claim(t0 + 120_000))[0]?.claimed, true);
        await release(t0 + 121_000);
        assertEqual(await claim(t0 + 900_000), [
          { leadId: 'lead-0000', claimed: false, reason: 'attempt_cap' },
        ]);
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'pending',
          hasBeenCalled: false,
          attemptCount: 2,
          lastAttemptAt: t0 + 120_000,
          fence: 2,
        });
      });

      it('claims a lead only as its gates checked it: another owner, number or zone is `changed`, and left as it is', async () => {
        const setup = await setUp(0);
        const { store, tenantId } = setup;
        await store.addLeads([
          lead(tenantId, 'zoned'),
          lead(tenantId, 'unzoned', { timeZone: undefined }),
        ]);
        const asAdded = {
          leadId: 'zoned',
          userId: 'user-1',
          phoneNumber: '+14155550100',
          timeZone: 'America/New_York',
        };
        const claim = (checked: typeof asAdded | Omit<typeof asAdded, 'timeZone'>) =>
          store.claimLeads({
            tenantId,
            leadIds: [checked.leadId],
            now: t0,
            leaseMs: lease,
            claimedBy: 'suite',
            checked: [{ timeZone: undefined, ...checked }],
          });
        for (const edited of [
          { userId: 'user-2' },
          { phoneNumber: '+14155550199' },
          { timeZone: 'Asia/Tokyo' },
          { timeZone: undefined },
        ]) {
          assertEqual(await claim({ ...asAdded, ...edited }), [
            { leadId: 'zoned', claimed: false, reason: 'changed' },
          ]);
        }
        assertEqual(
          await claim({
            leadId: 'unzoned',
            userId: 'user-1',
            phoneNumber: '+14155550100',
            timeZone: 'UTC',
          } as typeof asAdded),
          [{ leadId: 'unzoned', claimed: false, reason: 'changed' }],
        );
        for (const leadId of ['zoned', 'unzoned']) {
          assertPartial(await store.getLead(tenantId, leadId), {
            callStatus: 'pending',
            hasBeenCalled: false,
            attemptCount: 0,
            fence: 0,
          });
        }
        assertEqual(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }), 0);
        // As checked, both are claimed; in a batch too, each against its own check.
        const [zoned] = await claim(asAdded);
        assertPartial(zoned, { leadId: 'zoned', claimed: true });
        assertPartial(zoned?.claimed && zoned.lead, { phoneNumber: '+14155550100', fence: 1 });
        const batch = await store.claimLeads({
          tenantId,
          leadIds: ['unzoned', 'zoned'],
          now: t0,
          leaseMs: lease,
          claimedBy: 'suite',
          checked: [
            {
              leadId: 'unzoned',
              userId: 'user-1',
              phoneNumber: '+14155550100',
              timeZone: undefined,
            },
          ],
        });
        assertPartial(batch[0], { leadId: 'unzoned', claimed: true });
        assertPartial(batch[0]?.claimed && batch[0].lead, { timeZone: undefined, fence: 1 });
        assertEqual(batch[1], { leadId: 'zoned', claimed: false, reason: 'not_pending' });
      });
    });

    describe('fenced writes', () => {
      it('moves an attempt placed → ended and the lead with it, findable by its call', async () => {
        const setup = await setUp(1);
        const { store, tenantId } = setup;
        const [claim] = await claimOne(store, tenantId, 'lead-0000');
        if (!claim?.claimed) throw new Error('not claimed');
        const { attemptId } = claim.attempt;
        const key = { tenantId, leadId: 'lead-0000', attemptId, fence: 1 };
        const placed = await store.updateAttempt({
          ...key,
          state: 'placed',
          now: t0 + 500,
          provider: 'twilio',
          callId: 'CA-1',
        });
        assertPartial(placed, {
          applied: true,
          lead: { callStatus: 'placed', provider: 'twilio', callId: 'CA-1', hasBeenCalled: true },
          attempt: { state: 'placed', leaseUntil: undefined, updatedAt: t0 + 500, callId: 'CA-1' },
        });
        assertPartial(await store.findAttemptByCall(tenantId, 'twilio', 'CA-1'), {
          attemptId,
          state: 'placed',
        });
        assert.equal(await store.findAttemptByCall(tenantId, 'retell', 'CA-1'), undefined);
        assert.equal(await store.findAttemptByCall(`${tenantId}-b`, 'twilio', 'CA-1'), undefined);
        const ended = await store.updateAttempt({
          ...key,
          state: 'ended',
          now: t0 + 60_000,
          outcome: 'no-answer',
        });
        assertPartial(ended, {
          applied: true,
          lead: { callStatus: 'completed', callOutcome: 'no-answer', callId: 'CA-1' },
          attempt: { state: 'ended', outcome: 'no-answer', provider: 'twilio' },
        });
        assertPartial(await store.updateAttempt({ ...key, state: 'placed', now: t0 + 70_000 }), {
          applied: false,
          reason: 'invalid_transition',
        });
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'completed',
        });
      });

      it('records a call id that arrives later (placed → placed)', async () => {
        const setup = await setUp(1);
        const { store, tenantId } = setup;
        const [claim] = await claimOne(store, tenantId, 'lead-0000');
        if (!claim?.claimed) throw new Error('not claimed');
        const key = { tenantId, leadId: 'lead-0000', attemptId: claim.attempt.attemptId, fence: 1 };
        await store.updateAttempt({ ...key, state: 'placed', now: t0 + 1, provider: 'callerdesk' });
        const later = await store.updateAttempt({
          ...key,
          state: 'placed',
          now: t0 + 2,
          callId: 'CD-9',
        });
        assertPartial(later, {
          applied: true,
          attempt: { provider: 'callerdesk', callId: 'CD-9' },
        });
        assertPartial(await store.findAttemptByCall(tenantId, 'callerdesk', 'CD-9'), {
          attemptId: claim.attempt.attemptId,
        });
      });

      it("refuses a stale holder's writes: they change nothing", async () => {
        const setup = await setUp(1);
        const { store, tenantId } = setup;
        const [first] = await claimOne(store, tenantId, 'lead-0000');
        if (!first?.claimed) throw new Error('not claimed');
        const stale = {
          tenantId,
          leadId: 'lead-0000',
          attemptId: first.attempt.attemptId,
          fence: first.attempt.fence,
        };
        // The holder pauses past its lease; the reconciler takes the attempt over.
        const orphaned = await store.updateAttempt({
          ...stale,
          state: 'orphaned',
          now: t0 + lease,
          reason: 'lease_expired',
          takeOver: true,
        });
        assertPartial(orphaned, {
          applied: true,
          lead: { callStatus: 'orphaned', fence: 2, hasBeenCalled: true },
          attempt: { state: 'orphaned', fence: 2, reason: 'lease_expired' },
        });
        const before = await store.getLead(tenantId, 'lead-0000');
        // The paused holder wakes up and reports its call: refused.
        assertPartial(
          await store.updateAttempt({
            ...stale,
            state: 'placed',
            now: t0 + lease + 1,
            provider: 'twilio',
            callId: 'CA-stale',
          }),
          { applied: false, reason: 'stale' },
        );
        assertEqual(await store.getLead(tenantId, 'lead-0000'), before);
        assert.equal(await store.findAttemptByCall(tenantId, 'twilio', 'CA-stale'), undefined);
        // A reviewer releases the lead and it is claimed again: the old token stays refused.
        await store.updateAttempt({ ...stale, fence: 2, state: 'released', now: t0 + lease + 2 });
        const [second] = await claimOne(store, tenantId, 'lead-0000', t0 + lease + 3);
        if (!second?.claimed) throw new Error('not claimed again');
        assert.equal(second.attempt.fence, 3);
        assert.notEqual(second.attempt.attemptId, first.attempt.attemptId);
        for (const fence of [1, 2]) {
          assertPartial(
            await store.updateAttempt({ ...stale, fence, state: 'released', now: t0 + lease + 4 }),
            { applied: false, reason: 'stale' },
          );
        }
        assertPartial(
          await store.updateAttempt({
            ...stale,
            attemptId: second.attempt.attemptId,
            fence: 1,
            state: 'released',
            now: t0 + lease + 4,
          }),
          { applied: false, reason: 'stale' },
        );
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'dialing',
          fence: 3,
          attemptId: second.attempt.attemptId,
        });
        assertPartial(
          await store.updateAttempt({ ...stale, leadId: 'nobody', state: 'placed', now: t0 }),
          { applied: false, reason: 'not_found' },
        );
      });

      it('releases a refused lead (pending again) and lets webhooks settle an unknown one', async () => {
        const setup = await setUp(2);
        const { store, tenantId } = setup;
        const claims = await store.claimLeads({
          tenantId,
          leadIds: ['lead-0000', 'lead-0001'],
          now: t0,
          leaseMs: lease,
          claimedBy: 'suite',
        });
        const [refused, ambiguous] = claims.map((claim) => {
          if (!claim.claimed) throw new Error('not claimed');
          return { tenantId, leadId: claim.leadId, attemptId: claim.attempt.attemptId, fence: 1 };
        }) as [
          { tenantId: string; leadId: string; attemptId: string; fence: number },
          { tenantId: string; leadId: string; attemptId: string; fence: number },
        ];
        assertPartial(
          await store.updateAttempt({
            ...refused,
            state: 'released',
            now: t0 + 10,
            reason: 'provider_refused',
          }),
          {
            applied: true,
            lead: { callStatus: 'pending', hasBeenCalled: false, attemptCount: 1 },
            attempt: { state: 'released', reason: 'provider_refused', leaseUntil: undefined },
          },
        );
        const pending = await store.listPendingLeads({ tenantId, userId: 'user-1', limit: 10 });
        assertEqual(
          pending.map((found) => found.leadId),
          ['lead-0000'],
        );

        assertPartial(
          await store.updateAttempt({
            ...ambiguous,
            state: 'unknown',
            now: t0 + 20,
            leaseMs: 900_000,
            reason: 'timeout',
          }),
          {
            applied: true,
            lead: { callStatus: 'unknown', hasBeenCalled: true },
            attempt: { state: 'unknown', leaseUntil: t0 + 20 + 900_000 },
          },
        );
        assertPartial(
          await store.updateAttempt({
            ...ambiguous,
            state: 'ended',
            now: t0 + 30,
            provider: 'twilio',
            callId: 'CA-late',
            outcome: 'completed',
          }),
          {
            applied: true,
            lead: { callStatus: 'completed', callOutcome: 'completed', callId: 'CA-late' },
          },
        );
        assertPartial(await store.findAttemptByCall(tenantId, 'twilio', 'CA-late'), {
          attemptId: ambiguous.attemptId,
          state: 'ended',
        });
      });
    });

    if (options.removeLead !== undefined) {
      const removeLead = options.removeLead;
      describe('leads deleted behind its back', () => {
        it('has no deleted lead for any operation, pending or claimed, and keeps the claimed one’s attempt for the reconciler', async () => {
          const setup = await setUp(3);
          const { store, tenantId } = setup;
          const [claim] = await claimOne(store, tenantId, 'lead-0001');
          if (!claim?.claimed) throw new Error('not claimed');
          const { attempt } = claim;
          const kept = await store.getLead(tenantId, 'lead-0002');
          // Pending, being dialled, and one the store never had (deleting it changes nothing).
          await removeLead(store, tenantId, 'lead-0000');
          await removeLead(store, tenantId, 'lead-0001');
          await removeLead(store, tenantId, 'lead-none');
          for (const leadId of ['lead-0000', 'lead-0001', 'lead-none']) {
            assert.equal(await store.getLead(tenantId, leadId), undefined, leadId);
          }
          assertEqual(await store.getLead(tenantId, 'lead-0002'), kept);
          const query = { tenantId, userId: 'user-1', limit: 10 };
          assertEqual(
            (await store.listPendingLeads(query)).map((found) => found.leadId),
            ['lead-0002'],
          );
          assertEqual(
            (await store.listLeads(query)).map((found) => found.leadId),
            ['lead-0002'],
          );
          // A skip or a fenced write about a deleted lead changes nothing and brings no lead back.
          await store.recordSkips(
            ['lead-0000', 'lead-0001', 'lead-none'].map((leadId) => ({
              tenantId,
              leadId,
              reason: 'outside_calling_window',
              now: t0 + 50,
            })),
          );
          assertEqual(
            await store.updateAttempt({
              tenantId,
              leadId: 'lead-0001',
              attemptId: attempt.attemptId,
              fence: attempt.fence,
              state: 'placed',
              now: t0 + 100,
              provider: 'twilio',
              callId: `CA-${tenantId}`,
            }),
            { applied: false, reason: 'not_found' },
          );
          for (const leadId of ['lead-0000', 'lead-0001', 'lead-none']) {
            assert.equal(await store.getLead(tenantId, leadId), undefined, leadId);
          }
          assertEqual(
            (await store.listLeads(query)).map((found) => found.leadId),
            ['lead-0002'],
          );
          assert.equal(
            await store.findAttemptByCall(tenantId, 'twilio', `CA-${tenantId}`),
            undefined,
          );
          const claims = await store.claimLeads({
            tenantId,
            leadIds: ['lead-0000', 'lead-0001', 'lead-none'],
            now: t0 + 200,
            leaseMs: lease,
            claimedBy: 'suite',
          });
          assertEqual(
            claims.map((result) => [result.leadId, result.claimed ? 'claimed' : result.reason]),
            [
              ['lead-0000', 'not_found'],
              ['lead-0001', 'not_found'],
              ['lead-none', 'not_found'],
            ],
          );
          // The claimed lead's attempt stays as it was, live, until the reconciler orphans it.
          assertEqual(await store.getAttempt(tenantId, attempt.attemptId), attempt);
          assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }), 1);
          assertEqual(
            (await store.listExpiredAttempts({ now: t0 + lease, limit: 100 }))
              .filter((found) => found.tenantId === tenantId)
              .map((found) => found.attemptId),
            [attempt.attemptId],
          );
          // Nothing of theirs was left behind: added again, they are new leads of their user.
          assertEqual(
            await store.addLeads(
              ['lead-0000', 'lead-0001'].map((leadId) => lead(tenantId, leadId)),
            ),
            { added: 2, existing: 0, conflicts: [] },
          );
        });

        it('adds a deleted lead again as a new one: pending, never called, fence 0, claimable once more', async () => {
          const setup = await setUp(1);
          const { store, tenantId } = setup;
          const [claim] = await claimOne(store, tenantId, 'lead-0000');
          if (!claim?.claimed) throw new Error('not claimed');
          await store.recordSkips([{ tenantId, leadId: 'lead-0000', reason: 'dnc', now: t0 + 10 }]);
          await removeLead(store, tenantId, 'lead-0000');
          // Deleted twice: the second finds nothing.
          await removeLead(store, tenantId, 'lead-0000');
          assertEqual(
            await store.addLeads([lead(tenantId, 'lead-0000', { phoneNumber: '+14155550123' })]),
            { added: 1, existing: 0, conflicts: [] },
          );
          assertEqual(await store.getLead(tenantId, 'lead-0000'), {
            tenantId,
            leadId: 'lead-0000',
            userId: 'user-1',
            phoneNumber: '+14155550123',
            timeZone: 'America/New_York',
            callStatus: 'pending',
            hasBeenCalled: false,
            attemptCount: 0,
            lastAttemptAt: undefined,
            attemptId: undefined,
            fence: 0,
            provider: undefined,
            callId: undefined,
            callOutcome: undefined,
            skipReason: undefined,
            skippedAt: undefined,
          });
          const [again] = await claimOne(store, tenantId, 'lead-0000', t0 + 1000);
          if (!again?.claimed) throw new Error('not claimed again');
          assert.notEqual(again.attempt.attemptId, claim.attempt.attemptId);
          // The old attempt's holder, with the same fence as the new one, writes nothing.
          assertPartial(
            await store.updateAttempt({
              tenantId,
              leadId: 'lead-0000',
              attemptId: claim.attempt.attemptId,
              fence: claim.attempt.fence,
              state: 'placed',
              now: t0 + 1100,
              provider: 'twilio',
              callId: `CA-old-${tenantId}`,
            }),
            { applied: false, reason: 'stale' },
          );
          assertPartial(await store.getLead(tenantId, 'lead-0000'), {
            callStatus: 'dialing',
            attemptId: again.attempt.attemptId,
            attemptCount: 1,
            callId: undefined,
          });
        });

        it('pages past deleted leads with full pages (a short page is the end), and lists a lead added again for another user as theirs alone', async () => {
          const setup = await setUp(5);
          const { store, tenantId } = setup;
          // Deleted behind its back: the first lead, and one in the middle of the second page.
          await removeLead(store, tenantId, 'lead-0000');
          await removeLead(store, tenantId, 'lead-0003');
          // The CRM gave lead-0001 to bob: deleted, then loaded again as his.
          await removeLead(store, tenantId, 'lead-0001');
          assertEqual(await store.addLeads([lead(tenantId, 'lead-0001', { userId: 'bob' })]), {
            added: 1,
            existing: 0,
            conflicts: [],
          });
          // The dialer and the leads page stop at a page shorter than the limit: every page
          // before the last is full, and each lead of the user comes once.
          for (const list of ['listPendingLeads', 'listLeads'] as const) {
            const pages: string[][] = [];
            let afterLeadId: string | undefined;
            for (;;) {
              const page = await store[list]({
                tenantId,
                userId: 'user-1',
                limit: 1,
                ...(afterLeadId === undefined ? {} : { afterLeadId }),
              });
              pages.push(page.map((found) => found.leadId));
              if (page.length < 1) break;
              afterLeadId = page.at(-1)!.leadId;
            }
            assertEqual(pages, [['lead-0002'], ['lead-0004'], []], `${list} pages`);
            for (const found of await store[list]({ tenantId, userId: 'user-1', limit: 10 })) {
              assert.equal(found.userId, 'user-1', `${list}: ${found.leadId} is not user-1's`);
            }
            assertEqual(
              (await store[list]({ tenantId, userId: 'bob', limit: 10 })).map(
                (found) => found.leadId,
              ),
              ['lead-0001'],
              `${list} of bob`,
            );
          }
        });
      });
    }

    describe('reconciling and counting', () => {
      it('lists attempts whose lease ran out while claimed or unknown, oldest first, across tenants', async () => {
        const setup = await setUp(4);
        const { store, tenantId } = setup;
        const other = `${tenantId}-b`;
        await store.addLeads([lead(other, 'lead-x')]);
        const claim = async (tenant: string, leadId: string, now: number) => {
          const [result] = await claimOne(store, tenant, leadId, now);
          if (!result?.claimed) throw new Error('not claimed');
          return {
            tenantId: tenant,
            leadId,
            attemptId: result.attempt.attemptId,
            fence: result.attempt.fence,
          };
        };
        const a = await claim(tenantId, 'lead-0000', t0);
        const b = await claim(tenantId, 'lead-0001', t0 + 1000);
        const c = await claim(tenantId, 'lead-0002', t0 + 2000);
        const d = await claim(other, 'lead-x', t0 + 500);
        await store.updateAttempt({ ...b, state: 'placed', now: t0 + 1100, callId: 'CA-b' });
        await store.updateAttempt({ ...c, state: 'unknown', now: t0 + 2100, leaseMs: 100 });
        const expired = await store.listExpiredAttempts({ now: t0 + lease + 1000, limit: 10 });
        assertEqual(
          expired.map((attempt) => attempt.attemptId),
          [c.attemptId, a.attemptId, d.attemptId],
        );
        assert.equal(
          (await store.listExpiredAttempts({ now: t0 + lease + 1000, limit: 2 })).length,
          2,
        );
        assertEqual(await store.listExpiredAttempts({ now: t0 + 2000, limit: 10 }), []);
        await store.updateAttempt({
          ...a,
          state: 'orphaned',
          now: t0 + lease,
          takeOver: true,
          reason: 'lease_expired',
        });
        const after = await store.listExpiredAttempts({ now: t0 + lease + 1000, limit: 10 });
        assertEqual(
          after.map((attempt) => attempt.attemptId),
          [c.attemptId, d.attemptId],
        );
        const orphans = await store.listAttempts({ tenantId, state: 'orphaned', limit: 10 });
        assertEqual(
          orphans.map((attempt) => attempt.attemptId),
          [a.attemptId],
        );
      });

      it('orphans an attempt cut off from its lead, never one its lead is still on', async () => {
        const setup = await setUp(3);
        const { store, tenantId } = setup;
        const [claimed] = await claimOne(store, tenantId, 'lead-0000');
        const [released] = await claimOne(store, tenantId, 'lead-0001');
        const [placed] = await claimOne(store, tenantId, 'lead-0002');
        if (!claimed?.claimed || !released?.claimed || !placed?.claimed) {
          throw new Error('not claimed');
        }
        await store.updateAttempt({
          tenantId,
          leadId: 'lead-0002',
          attemptId: placed.attempt.attemptId,
          fence: placed.attempt.fence,
          state: 'placed',
          now: t0 + 100,
        });
        await store.updateAttempt({
          tenantId,
          leadId: 'lead-0001',
          attemptId: released.attempt.attemptId,
          fence: released.attempt.fence,
          state: 'released',
          now: t0 + 100,
        });
        const detach = (leadId: string, attemptId: string) =>
          store.orphanDetachedAttempt({
            tenantId,
            leadId,
            attemptId,
            now: t0 + lease + 1000,
            reason: 'lead_gone',
          });
        // Still its lead's attempt, another lead's, unknown, or no longer claimed: unchanged.
        assert.equal(await detach('lead-0000', claimed.attempt.attemptId), undefined);
        assert.equal(await detach('lead-0001', claimed.attempt.attemptId), undefined);
        assert.equal(await detach('lead-0000', 'no-such-attempt'), undefined);
        assert.equal(await detach('lead-0001', released.attempt.attemptId), undefined);
        assert.equal(await detach('lead-0002', placed.attempt.attemptId), undefined);
        assertPartial(await store.getAttempt(tenantId, claimed.attempt.attemptId), {
          state: 'claimed',
        });
        assertPartial(await store.getAttempt(tenantId, placed.attempt.attemptId), {
          state: 'placed',
        });
        assertPartial(await store.getLead(tenantId, 'lead-0000'), {
          callStatus: 'dialing',
          attemptId: claimed.attempt.attemptId,
          fence: claimed.attempt.fence,
        });
      });

      const { removeLead } = options;
      if (removeLead !== undefined) {
        it('orphans the attempts of a lead deleted behind its back (claimed, unknown, placed), for review, once', async () => {
          const setup = await setUp(3);
          const { store, tenantId } = setup;
          const attempts: LeadAttempt[] = [];
          for (const leadId of ['lead-0000', 'lead-0001', 'lead-0002']) {
            const [result] = await claimOne(store, tenantId, leadId);
            if (!result?.claimed) throw new Error('not claimed');
            attempts.push(result.attempt);
          }
          const [first, second, third] = attempts as [LeadAttempt, LeadAttempt, LeadAttempt];
          await store.updateAttempt({
            tenantId,
            leadId: second.leadId,
            attemptId: second.attemptId,
            fence: second.fence,
            state: 'unknown',
            now: t0 + 100,
            leaseMs: 100,
          });
          await store.updateAttempt({
            tenantId,
            leadId: third.leadId,
            attemptId: third.attemptId,
            fence: third.fence,
            state: 'placed',
            now: t0 + 100,
            provider: 'twilio',
            callId: `CA-${tenantId}`,
          });
          for (const attempt of attempts) await removeLead(store, tenantId, attempt.leadId);
          const now = t0 + lease + 1000;
          const detach = (attempt: LeadAttempt) =>
            store.orphanDetachedAttempt({
              tenantId,
              leadId: attempt.leadId,
              attemptId: attempt.attemptId,
              now,
              reason: 'lead_gone',
            });
          for (const attempt of attempts) {
            assertPartial(await detach(attempt), {
              attemptId: attempt.attemptId,
              leadId: attempt.leadId,
              state: 'orphaned',
              reason: 'lead_gone',
              updatedAt: now,
              fence: attempt.fence,
            });
            assert.equal(
              (await store.getAttempt(tenantId, attempt.attemptId))?.leaseUntil,
              undefined,
            );
            assert.equal(await detach(attempt), undefined);
          }
          assertEqual(await store.listExpiredAttempts({ now, limit: 10 }), []);
          const placed = await store.listPlacedAttempts?.({
            updatedBefore: now,
            claimedAfter: 0,
            limit: 100,
          });
          assert.equal(placed?.some((attempt) => attempt.tenantId === tenantId) ?? false, false);
          assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }), 0);
          const orphans = await store.listAttempts({ tenantId, state: 'orphaned', limit: 10 });
          assertEqual(
            orphans.map((attempt) => attempt.attemptId).sort(),
            [first.attemptId, second.attemptId, third.attemptId].sort(),
          );
        });
      }

      if (removeLead !== undefined) {
        it('orphans a placed attempt whose lead was deleted and loaded again (on another attempt now), never the new one', async () => {
          const setup = await setUp(1);
          const { store, tenantId } = setup;
          const [first] = await claimOne(store, tenantId, 'lead-0000');
          if (!first?.claimed) throw new Error('not claimed');
          const old = first.attempt;
          await store.updateAttempt({
            tenantId,
            leadId: old.leadId,
            attemptId: old.attemptId,
            fence: old.fence,
            state: 'placed',
            now: t0 + 100,
            provider: 'twilio',
            callId: `CA-old-${tenantId}`,
          });
          // Your app deletes the row and loads the lead again: a fresh lead, claimed anew.
          await removeLead(store, tenantId, 'lead-0000');
          assertEqual(await store.addLeads([lead(tenantId, 'lead-0000')]), {
            added: 1,
            existing: 0,
            conflicts: [],
          });
          const [second] = await claimOne(store, tenantId, 'lead-0000', t0 + 1000);
          if (!second?.claimed) throw new Error('not claimed again');
          const now = t0 + 2000;
          const detach = (attemptId: string) =>
            store.orphanDetachedAttempt({
              tenantId,
              leadId: 'lead-0000',
              attemptId,
              now,
              reason: 'lead_moved_on',
            });
          assert.equal(await detach(second.attempt.attemptId), undefined);
          assertPartial(await detach(old.attemptId), {
            state: 'orphaned',
            reason: 'lead_moved_on',
            callId: `CA-old-${tenantId}`,
          });
          assertPartial(await store.getLead(tenantId, 'lead-0000'), {
            callStatus: 'dialing',
            attemptId: second.attempt.attemptId,
          });
          assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }), 1);
        });

        it("keeps what a lookup learned of a cut-off attempt's call (how it ended, its call id) on the orphan", async () => {
          const setup = await setUp(2);
          const { store, tenantId } = setup;
          const [placedClaim] = await claimOne(store, tenantId, 'lead-0000');
          const [unknownClaim] = await claimOne(store, tenantId, 'lead-0001');
          if (!placedClaim?.claimed || !unknownClaim?.claimed) throw new Error('not claimed');
          const placed = placedClaim.attempt;
          const unknown = unknownClaim.attempt;
          await store.updateAttempt({
            tenantId,
            leadId: placed.leadId,
            attemptId: placed.attemptId,
            fence: placed.fence,
            state: 'placed',
            now: t0 + 100,
            provider: 'twilio',
            callId: `CA-placed-${tenantId}`,
          });
          await store.updateAttempt({
            tenantId,
            leadId: unknown.leadId,
            attemptId: unknown.attemptId,
            fence: unknown.fence,
            state: 'unknown',
            now: t0 + 100,
            leaseMs: 100,
            provider: 'twilio',
          });
          await removeLead(store, tenantId, placed.leadId);
          await removeLead(store, tenantId, unknown.leadId);
          const now = t0 + lease + 1000;
          assertPartial(
            await store.orphanDetachedAttempt({
              tenantId,
              leadId: placed.leadId,
              attemptId: placed.attemptId,
              now,
              reason: 'lead_gone',
              call: { outcome: 'completed' },
            }),
            {
              state: 'orphaned',
              reason: 'lead_gone',
              outcome: 'completed',
              callId: `CA-placed-${tenantId}`,
              fence: placed.fence,
            },
          );
          assertPartial(
            await store.orphanDetachedAttempt({
              tenantId,
              leadId: unknown.leadId,
              attemptId: unknown.attemptId,
              now,
              reason: 'lead_gone',
              call: { callId: `CA-unknown-${tenantId}`, outcome: 'no-answer' },
            }),
            { state: 'orphaned', outcome: 'no-answer', callId: `CA-unknown-${tenantId}` },
          );
          assertPartial(await store.getAttempt(tenantId, unknown.attemptId), {
            state: 'orphaned',
            reason: 'lead_gone',
            provider: 'twilio',
            outcome: 'no-answer',
            callId: `CA-unknown-${tenantId}`,
            leaseUntil: undefined,
          });
          // Found by the call id the lookup gave it, as a webhook of that call links it.
          assertPartial(
            await store.findAttemptByCall(tenantId, 'twilio', `CA-unknown-${tenantId}`),
            { attemptId: unknown.attemptId, state: 'orphaned' },
          );
          assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }), 0);
        });
      }

      /**
       * Leaves, in `tenantId`, expired attempts in the cases the reconciler meets, and answers the
       * batch it would orphan, as it read them: a (claimed) and b (unknown, its call known) are
       * still as read; a webhook placed c and another reconciler took d over since; e's lead is
       * gone (when the suite can remove one); f is claimed; a webhook placed g and its lead is
       * gone since (when the suite can remove one); then a again, and an attempt of f's lead that
       * does not exist.
       */
      const leaveExpiredAttempts = async (store: LeadStore, tenantId: string) => {
        const leadIds = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
        await store.addLeads(leadIds.map((leadId) => lead(tenantId, leadId)));
        const claims = await store.claimLeads({
          tenantId,
          leadIds,
          now: t0,
          leaseMs: lease,
          claimedBy: 'crashed',
        });
        const keys = claims.map((claim) => {
          if (!claim.claimed) throw new Error('not claimed');
          const { leadId, attemptId, fence } = claim.attempt;
          return { tenantId, leadId, attemptId, fence };
        });
        const [a, b, c, d, e, f, g] = keys as [
          (typeof keys)[0],
          (typeof keys)[0],
          (typeof keys)[0],
          (typeof keys)[0],
          (typeof keys)[0],
          (typeof keys)[0],
          (typeof keys)[0],
        ];
        await store.updateAttempt({
          ...b,
          state: 'unknown',
          now: t0 + 100,
          leaseMs: 100,
          provider: 'twilio',
          callId: `CA-${tenantId}`,
          reason: 'ambiguous:timeout',
        });
        const now = t0 + lease + 1000;
        const read = await store.listExpiredAttempts({ now, limit: 100 });
        const expired = (key: (typeof keys)[0]): ExpiredAttempt => {
          const attempt = read.find((found) => found.attemptId === key.attemptId);
          if (attempt === undefined) throw new Error(`${key.leadId} is not listed as expired`);
          const reason = attempt.state === 'claimed' ? 'lease_expired' : 'unsettled';
          return { ...key, fence: attempt.fence, reason };
        };
        const request: OrphanExpiredAttemptsRequest = {
          now: now + 2,
          attempts: [
            ...[a, b, c, d, e, f, g].map(expired),
            expired(a),
            { ...f, attemptId: 'no-such-attempt', reason: 'lease_expired' },
          ],
        };
        await store.updateAttempt({
          ...c,
          state: 'placed',
          now: now + 1,
          provider: 'twilio',
          callId: `CA-c-${tenantId}`,
        });
        await store.updateAttempt({
          ...d,
          state: 'orphaned',
          now: now + 1,
          takeOver: true,
          reason: 'lease_expired',
        });
        await store.updateAttempt({
          ...g,
          state: 'placed',
          now: now + 1,
          provider: 'twilio',
          callId: `CA-g-${tenantId}`,
        });
        if (options.removeLead) {
          await options.removeLead(store, tenantId, 'e');
          await options.removeLead(store, tenantId, 'g');
        }
        return { request, keys: { a, b, c, d, e, f, g } };
      };

      it('orphans a batch of expired attempts exactly as one at a time would', async () => {
        const setup = await setUp(0);
        const { store, tenantId } = setup;
        const inBatch = await leaveExpiredAttempts(store, tenantId);
        const alone = await leaveExpiredAttempts(store, `${tenantId}-alone`);
        const outcomes = await orphanExpiredAttempts(store, inBatch.request);
        const aloneOutcomes: ExpiredAttemptOutcome[] = [];
        for (const attempt of alone.request.attempts) {
          aloneOutcomes.push(await orphanExpiredAttempt(store, attempt, alone.request.now));
        }
        const eGone = options.removeLead === undefined ? 'orphaned' : 'lead_gone';
        const gGone = options.removeLead === undefined ? 'unchanged' : 'lead_gone';
        const expected = [
          'orphaned',
          'orphaned',
          'unchanged',
          'unchanged',
          eGone,
          'orphaned',
          gGone,
        ];
        assertEqual(outcomes, [...expected, 'unchanged', 'unchanged']);
        assertEqual(aloneOutcomes, outcomes);
        // Every lead and attempt as one at a time left its twin, ids and tenant aside.
        const state = async (run: typeof inBatch, tenant: string) => {
          const found: unknown[] = [];
          for (const key of Object.values(run.keys)) {
            const same = (value: unknown) =>
              JSON.parse(
                JSON.stringify(value ?? null)
                  .replaceAll(key.attemptId, 'ATTEMPT')
                  .replaceAll(tenant, 'TENANT'),
              );
            found.push(same(await store.getLead(tenant, key.leadId)));
            found.push(same(await store.getAttempt(tenant, key.attemptId)));
          }
          return found;
        };
        assertEqual(await state(inBatch, tenantId), await state(alone, `${tenantId}-alone`));
        const { a, b, c, d, e, g } = inBatch.keys;
        const now = inBatch.request.now;
        assertPartial(await store.getLead(tenantId, 'a'), {
          callStatus: 'orphaned',
          hasBeenCalled: true,
          fence: 2,
          attemptId: a.attemptId,
        });
        assertPartial(await store.getAttempt(tenantId, a.attemptId), {
          state: 'orphaned',
          fence: 2,
          reason: 'lease_expired',
          leaseUntil: undefined,
          updatedAt: now,
        });
        assertPartial(await store.getLead(tenantId, 'b'), {
          callStatus: 'orphaned',
          fence: 2,
          provider: 'twilio',
          callId: `CA-${tenantId}`,
        });
        assertPartial(await store.getAttempt(tenantId, b.attemptId), {
          state: 'orphaned',
          reason: 'unsettled',
          provider: 'twilio',
        });
        assertPartial(await store.getLead(tenantId, 'c'), { callStatus: 'placed', fence: 1 });
        assertPartial(await store.getAttempt(tenantId, c.attemptId), { state: 'placed' });
        assertPartial(await store.getAttempt(tenantId, d.attemptId), {
          state: 'orphaned',
          fence: 2,
          updatedAt: now - 1,
        });
        if (options.removeLead) {
          assertPartial(await store.getAttempt(tenantId, e.attemptId), {
            state: 'orphaned',
            reason: 'lead_gone',
            fence: 1,
            updatedAt: now,
          });
          assertPartial(await store.getAttempt(tenantId, g.attemptId), {
            state: 'orphaned',
            reason: 'lead_gone',
            callId: `CA-g-${tenantId}`,
          });
        }
        assertEqual(await store.listExpiredAttempts({ now, limit: 100 }), []);
        // c's call, and g's while its lead is there.
        assert.equal(
          await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 }),
          options.removeLead === undefined ? 2 : 1,
        );
      });

      it('orphans each expired attempt exactly once when reconcilers race over the same batch', async () => {
        const setup = await setUp(40);
        const { store, tenantId, ids } = setup;
        const claims = await store.claimLeads({
          tenantId,
          leadIds: ids,
          now: t0,
          leaseMs: lease,
          claimedBy: 'crashed',
        });
        for (const [index, claim] of claims.entries()) {
          if (!claim.claimed) throw new Error('not claimed');
          if (index % 4 !== 1) continue;
          const { leadId, attemptId, fence } = claim.attempt;
          const key = { tenantId, leadId, attemptId, fence };
          await store.updateAttempt({ ...key, state: 'unknown', now: t0 + 1, leaseMs: 100 });
        }
        const removed = new Set(options.removeLead ? ids.slice(-5) : []);
        for (const leadId of removed) await options.removeLead!(store, tenantId, leadId);
        const now = t0 + lease + 1000;
        const read = await store.listExpiredAttempts({ now, limit: 100 });
        assert.equal(read.length, ids.length);
        const attempts = read.map(
          ({ leadId, attemptId, fence, state }): ExpiredAttempt => ({
            tenantId,
            leadId,
            attemptId,
            fence,
            reason: state === 'claimed' ? 'lease_expired' : 'unsettled',
          }),
        );
        // Two reconcilers with the batch (one reads it the other way round) and one of an earlier
        // version, one attempt at a time.
        const [forward, backward, alone] = await Promise.all([
          orphanExpiredAttempts(store, { now, attempts }),
          orphanExpiredAttempts(store, { now, attempts: [...attempts].reverse() }),
          (async () => {
            const outcomes: ExpiredAttemptOutcome[] = [];
            for (const attempt of attempts) {
              outcomes.push(await orphanExpiredAttempt(store, attempt, now));
            }
            return outcomes;
          })(),
        ]);
        for (const [index, attempt] of attempts.entries()) {
          const outcomes = [forward[index], backward[attempts.length - 1 - index], alone[index]];
          const gone = removed.has(attempt.leadId);
          assertEqual(
            outcomes.filter((outcome) => outcome !== 'unchanged'),
            [gone ? 'lead_gone' : 'orphaned'],
            `outcomes of ${attempt.leadId}`,
          );
          assertPartial(await store.getAttempt(tenantId, attempt.attemptId), {
            state: 'orphaned',
            fence: gone ? 1 : 2,
            reason: gone ? 'lead_gone' : attempt.reason,
          });
          if (!gone) {
            assertPartial(await store.getLead(tenantId, attempt.leadId), {
              callStatus: 'orphaned',
              fence: 2,
            });
          }
        }
        assertEqual(await store.listExpiredAttempts({ now, limit: 100 }), []);
      });

      it("lists a tenant's attempts newest first, and counts a user's calls in flight", async () => {
        const setup = await setUp(4);
        const { store, tenantId } = setup;
        await store.addLeads([lead(tenantId, 'lead-u2', { userId: 'user-2' })]);
        const attempts: LeadAttempt[] = [];
        for (const [index, leadId] of [
          'lead-0000',
          'lead-0001',
          'lead-0002',
          'lead-u2',
        ].entries()) {
          const [result] = await claimOne(store, tenantId, leadId, t0 + index * 1000);
          if (!result?.claimed) throw new Error('not claimed');
          attempts.push(result.attempt);
        }
        const key = (index: number) => ({
          tenantId,
          leadId: attempts[index]!.leadId,
          attemptId: attempts[index]!.attemptId,
          fence: attempts[index]!.fence,
        });
        await store.updateAttempt({ ...key(0), state: 'placed', now: t0 + 5000 });
        await store.updateAttempt({ ...key(0), state: 'ended', now: t0 + 6000, outcome: 'busy' });
        await store.updateAttempt({ ...key(1), state: 'unknown', now: t0 + 5000, leaseMs: 1 });
        assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: t0 }), 2);
        assert.equal(
          await store.countLiveAttempts({ tenantId, userId: 'user-1', since: t0 + 1500 }),
          1,
        );
        assert.equal(await store.countLiveAttempts({ tenantId, userId: 'user-2', since: t0 }), 1);
        assert.equal(
          await store.countLiveAttempts({ tenantId: `${tenantId}-b`, userId: 'user-1', since: 0 }),
          0,
        );
        const mine = await store.listAttempts({ tenantId, userId: 'user-1', limit: 10 });
        assertEqual(
          mine.map((attempt) => attempt.leadId),
          ['lead-0002', 'lead-0001', 'lead-0000'],
        );
        const ended = await store.listAttempts({ tenantId, state: 'ended', limit: 10 });
        assertEqual(
          ended.map((attempt) => attempt.leadId),
          ['lead-0000'],
        );
        assert.equal((await store.listAttempts({ tenantId, limit: 1 }))[0]?.leadId, 'lead-u2');
      });
    });

    describe('placed calls', () => {
      it('lists placed attempts of every tenant by their last change, within the claim horizon (a store may leave it out)', async (): Promise<void> => {
        const setup = await setUp(3);
        const { store, tenantId } = setup;
        if (typeof store.listPlacedAttempts !== 'function') return;
        const otherTenant = `${tenantId}-other`;
        await store.addLeads([lead(otherTenant, 'lead-0000')]);
        const place = async (
          tenant: string,
          leadId: string,
          claimedAt: number,
          placedAt: number,
        ) => {
          const [claim] = await claimOne(store, tenant, leadId, claimedAt);
          assert.ok(claim?.claimed);
          const placed = await store.updateAttempt({
            tenantId: tenant,
            leadId,
            attemptId: claim.attempt.attemptId,
            fence: claim.attempt.fence,
            state: 'placed',
            now: placedAt,
            provider: 'twilio',
            callId: `CA-${tenant}-${leadId}`,
          });
          assert.equal(placed.applied, true);
          return claim.attempt;
        };
        const old = await place(tenantId, 'lead-0000', t0, t0 + 3_000);
        const other = await place(otherTenant, 'lead-0000', t0 + 1, t0 + 2_000);
        const recent = await place(tenantId, 'lead-0001', t0 + 2, t0 + 60_000);
        const ended = await place(tenantId, 'lead-0002', t0 + 3, t0 + 1_000);
        await store.updateAttempt({
          tenantId,
          leadId: 'lead-0002',
          attemptId: ended.attemptId,
          fence: ended.fence,
          state: 'ended',
          now: t0 + 4_000,
          outcome: 'completed',
        });
        const ids = (attempts: LeadAttempt[]) =>
          attempts
            .filter((attempt) => attempt.tenantId === tenantId || attempt.tenantId === otherTenant)
            .map((attempt) => attempt.attemptId);
        assertEqual(
          ids(
            await store.listPlacedAttempts({
              updatedBefore: t0 + 10_000,
              claimedAfter: t0 - 1,
              limit: 100,
            }),
          ),
          [other.attemptId, old.attemptId],
        );
        assertPartial(
          (
            await store.listPlacedAttempts({
              updatedBefore: t0 + 10_000,
              claimedAfter: t0 - 1,
              limit: 100,
            })
          ).find((attempt) => attempt.attemptId === old.attemptId),
          { state: 'placed', callId: `CA-${tenantId}-lead-0000`, updatedAt: t0 + 3_000 },
        );
        assertEqual(
          ids(
            await store.listPlacedAttempts({
              updatedBefore: t0 + 60_000,
              claimedAfter: t0,
              limit: 100,
            }),
          ),
          [other.attemptId, recent.attemptId],
        );
      });
    });
  });
}

function lead(tenantId: string, leadId: string, extra: Partial<LeadInput> = {}): LeadInput {
  return {
    tenantId,
    leadId,
    userId: 'user-1',
    phoneNumber: '+14155550100',
    timeZone: 'America/New_York',
    ...extra,
  };
}

const anyString = Symbol('any string');

/** Drops properties whose value is undefined, so `{ a: undefined }` equals `{}` (as in toEqual). */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    if (entry !== undefined) result[key] = withoutUndefined(entry);
  }
  return result;
}

/** Deep equality where an undefined property counts as absent; `anyString` matches any string. */
function assertEqual(actual: unknown, expected: unknown, path = 'value'): void {
  if (expected === anyString) {
    assert.equal(typeof actual, 'string', `${path} should be a string`);
    return;
  }
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be an object`);
    const actualKeys = Object.keys(withoutUndefined(actual) as object).sort();
    const expectedKeys = Object.keys(withoutUndefined(expected) as object).sort();
    assert.deepEqual(actualKeys, expectedKeys, `${path}: keys differ`);
    for (const key of expectedKeys) {
      assertEqual(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
    return;
  }
  assert.deepStrictEqual(withoutUndefined(actual), withoutUndefined(expected), path);
}

/** Every property of `expected` is in `actual` (recursively, like toMatchObject). */
function assertPartial(actual: unknown, expected: unknown, path = 'value'): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} should be an object`);
    for (const [key, value] of Object.entries(expected)) {
      assertPartial((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    }
    return;
  }
  assertEqual(actual, expected, path);
}

/** The promise rejects with an error that has every property of `expected`. */
async function assertRejects(promise: Promise<unknown>, expected: object): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assertPartial(error, expected, 'error');
    return true;
  });
}

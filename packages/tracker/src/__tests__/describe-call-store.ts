import type { CallEvent } from '@calltrack/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallStore } from '../call-store';
import {
  callLifecycle,
  isoAt,
  makeCallEvent,
  t0,
  testSettings,
  transitionOf,
} from '../make-call-event';

/** Makes an empty store for one test; `cleanup` runs after it. */
export type CallStoreFactory = () => Promise<{ store: CallStore; cleanup?: () => Promise<void> }>;

const lease = testSettings.publishLeaseMs;

/**
 * The contract every call store must honour. Memory and Redis run these very tests; the state
 * machine's rules are documented on `applyCallTransition`.
 */
export function describeCallStore(backend: string, makeStore: CallStoreFactory): void {
  describe(`CallStore conformance: ${backend}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const fresh = async (): Promise<CallStore> => {
      const { store, cleanup } = await makeStore();
      if (cleanup) cleanups.push(cleanup);
      return store;
    };
    afterEach(async () => {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    });

    describe('state machine', () => {
      it('creates a call on its first event and reports it active', async () => {
        const store = await fresh();
        const [queued] = callLifecycle({ callId: 'CA-new', branchId: 'north', agentId: 'agent-1' });
        const result = await store.apply(transitionOf(queued!, 100));
        expect(result).toMatchObject({ outcome: 'changed', activated: true, activeCount: 1 });
        expect(result.call).toEqual({
          tenantId: 'tenant-a',
          callId: 'CA-new',
          provider: 'twilio',
          status: 'queued',
          active: true,
          branchId: 'north',
          agentId: 'agent-1',
          direction: 'inbound',
          from: '+14155550100',
          to: '+14155550199',
          startedAt: isoAt(0),
          createdAt: isoAt(100),
          updatedAt: isoAt(100),
          version: 1,
        });
        expect(await store.getCall('tenant-a', 'CA-new')).toEqual(result.call);
      });

      it('moves forward only, and a late status after the end is recorded but changes nothing', async () => {
        const store = await fresh();
        const [queued, ringing, answered, ended] = callLifecycle({ callId: 'CA-fwd' });
        expect((await store.apply(transitionOf(queued!, 10))).outcome).toBe('changed');
        expect((await store.apply(transitionOf(answered!, 20))).outcome).toBe('changed');
        const lateRinging = await store.apply(transitionOf(ringing!, 30));
        expect(lateRinging.outcome).toBe('ignored');
        expect(lateRinging.call).toMatchObject({ status: 'in-progress', version: 2 });
        const end = await store.apply(transitionOf(ended!, 40));
        expect(end).toMatchObject({ outcome: 'ended', activeCount: 0 });
        expect(end.call).toMatchObject({ status: 'completed', active: false, durationMs: 60_000 });
        const afterEnd = makeCallEvent({
          callId: 'CA-fwd',
          status: 'ringing',
          occurredAt: isoAt(90_000),
        });
        const ignored = await store.apply(transitionOf(afterEnd, 50));
        expect(ignored.outcome).toBe('ignored');
        expect(ignored.call).toMatchObject({
          status: 'completed',
          version: 3,
          updatedAt: isoAt(40),
        });
        // Recorded: the same event again is a duplicate, not another verdict.
        expect((await store.apply(transitionOf(afterEnd, 60))).outcome).toBe('duplicate');
      });

      it('ends a call exactly once, whoever tries to end it', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-once', endStatus: 'busy' });
        await store.apply(transitionOf(queued!, 10));
        const first = await store.apply(transitionOf(ended!, 20));
        expect(first.outcome).toBe('ended');
        const otherSource = makeCallEvent({
          id: 'retell:CA-once:ended',
          type: 'call.ended',
          callId: 'CA-once',
          status: 'completed',
          provider: 'retell',
          data: { durationMs: 1 },
        });
        const second = await store.apply(transitionOf(otherSource, 30));
        expect(second.outcome).toBe('ignored');
        expect(second.call).toMatchObject({ status: 'busy', durationMs: 60_000 });
      });

      it('decides one winner when the same end races in from many callers', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-race' });
        await store.apply(transitionOf(queued!, 10));
        const ends = Array.from({ length: 5 }, (_, index) =>
          makeCallEvent({
            id: `end-${index}`,
            type: 'call.ended',
            callId: 'CA-race',
            status: 'completed',
          }),
        );
        const results = await Promise.all(
          [ended!, ended!, ...ends].map((event, index) =>
            store.apply(transitionOf(event, 20 + index)),
          ),
        );
        expect(results.filter((result) => result.outcome === 'ended')).toHaveLength(1);
        expect((await store.countActiveCalls('tenant-a')).total).toBe(0);
      });

      it('enriches an ended call with analysis and recording, without moving its status', async () => {
        const store = await fresh();
        const [queued, , answered, ended, recording, analyzed] = callLifecycle({
          callId: 'CA-enrich',
        });
        for (const [index, event] of [queued, answered, ended].entries()) {
          await store.apply(transitionOf(event!, index));
        }
        expect((await store.apply(transitionOf(recording!, 10))).outcome).toBe('enriched');
        const result = await store.apply(transitionOf(analyzed!, 11));
        expect(result.outcome).toBe('enriched');
        expect(result.call).toMatchObject({
          status: 'completed',
          active: false,
          recordingUrl: 'https://api.example.com/CA-enrich.mp3',
          recordingDurationMs: 60_000,
          analysis: { summary: 'The caller asked about opening hours.', tags: [] },
          version: 5,
        });
      });

      it('keeps only what the provider sent for a call it never saw a status for: not active', async () => {
        const store = await fresh();
        const [, , , , , analyzed] = callLifecycle({ callId: 'CA-orphan' });
        const result = await store.apply(transitionOf(analyzed!, 10));
        expect(result.outcome).toBe('enriched');
        expect(result.call?.status).toBeUndefined();
        expect(result.call?.active).toBe(false);
        expect(result.activated).toBeUndefined();
        expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 0, byBranch: {} });
      });

      it('derives the timeline from every status event, whatever order they came in', async () => {
        const store = await fresh();
        const [queued, ringing, answered, ended] = callLifecycle({
          callId: 'CA-time',
          talkMs: 42_000,
        });
        const noDuration = { ...ended!, data: {} };
        for (const [index, event] of [noDuration, answered, ringing, queued].entries()) {
          await store.apply(transitionOf(event!, index));
        }
        expect(await store.getCall('tenant-a', 'CA-time')).toMatchObject({
          status: 'completed',
          startedAt: isoAt(0),
          answeredAt: isoAt(5000),
          endedAt: isoAt(47_000),
          durationMs: 42_000,
          version: 1,
        });
      });

      it('merges details per field by timeline position: the later event wins, in any order', async () => {
        const orders = [
          [0, 1, 2],
          [2, 1, 0],
          [1, 2, 0],
        ];
        const finals = [];
        for (const order of orders) {
          const store = await fresh();
          const events = [
            makeCallEvent({
              id: 'd1',
              callId: 'CA-merge',
              type: 'call.machine_detection',
              status: undefined,
              sequence: 1,
              data: { answeredBy: 'unknown', disconnectionReason: 'first' },
            }),
            makeCallEvent({
              id: 'd2',
              callId: 'CA-merge',
              type: 'call.machine_detection',
              status: undefined,
              sequence: 2,
              data: { answeredBy: 'human' },
            }),
            makeCallEvent({
              id: 'd3',
              callId: 'CA-merge',
              type: 'call.transcript',
              status: undefined,
              sequence: 3,
              data: { transcript: 'hello' },
            }),
          ];
          for (const [index, position] of order.entries()) {
            await store.apply(transitionOf(events[position]!, index));
          }
          const call = await store.getCall('tenant-a', 'CA-merge');
          finals.push({
            answeredBy: call?.answeredBy,
            disconnectionReason: call?.disconnectionReason,
          });
        }
        expect(finals).toEqual(
          orders.map(() => ({ answeredBy: 'human', disconnectionReason: 'first' })),
        );
      });

      it('fills identity fields it lacks and never overwrites them', async () => {
        const store = await fresh();
        await store.apply(
          transitionOf(
            makeCallEvent({ id: 'i1', callId: 'CA-id', status: 'queued', type: 'call.initiated' }),
            1,
          ),
        );
        await store.apply(
          transitionOf(
            makeCallEvent({
              id: 'i2',
              callId: 'CA-id',
              agentId: 'agent-9',
              from: '+14155550111',
              provider: 'retell',
            }),
            2,
          ),
        );
        await store.apply(
          transitionOf(
            makeCallEvent({
              id: 'i3',
              callId: 'CA-id',
              type: 'call.answered',
              status: 'in-progress',
              agentId: 'agent-x',
              from: '+1999',
            }),
            3,
          ),
        );
        expect(await store.getCall('tenant-a', 'CA-id')).toMatchObject({
          provider: 'twilio',
          agentId: 'agent-9',
          from: '+14155550111',
          status: 'in-progress',
        });
      });
    });

    describe('duplicates and publish confirmation', () => {
      it('drops a repeated id while its publish is leased or after it was confirmed', async () => {
        const store = await fresh();
        const [queued] = callLifecycle({ callId: 'CA-dup' });
        await store.apply(transitionOf(queued!, 0));
        expect((await store.apply(transitionOf(queued!, 10))).outcome).toBe('duplicate');
        await store.markPublished({ tenantId: 'tenant-a', callId: 'CA-dup', eventId: queued!.id });
        expect((await store.apply(transitionOf(queued!, lease + 10))).outcome).toBe('duplicate');
      });

      it('hands an unconfirmed change out again once its lease ran out, to one caller', async () => {
        const store = await fresh();
        const [queued] = callLifecycle({ callId: 'CA-lease' });
        await store.apply(transitionOf(queued!, 0));
        const again = await store.apply(transitionOf(queued!, lease + 1));
        expect(again.outcome).toBe('unpublished');
        expect(again.call).toMatchObject({ status: 'queued', version: 1 });
        expect((await store.apply(transitionOf(queued!, lease + 2))).outcome).toBe('duplicate');
      });

      it('hands a change out again at once after a failed publish', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-failed-publish' });
        await store.apply(transitionOf(queued!, 0));
        await store.apply(transitionOf(ended!, 10));
        await store.markPublishFailed({
          tenantId: 'tenant-a',
          callId: 'CA-failed-publish',
          eventId: ended!.id,
        });
        expect((await store.apply(transitionOf(ended!, 20))).outcome).toBe('unpublished');
        expect((await store.apply(transitionOf(ended!, 30))).outcome).toBe('duplicate');
      });

      it('says a change handed out again made the call active, while the call still is', async () => {
        const store = await fresh();
        const [queued, ringing, , ended] = callLifecycle({ callId: 'CA-reactivate' });
        const [other] = callLifecycle({ callId: 'CA-other' });
        expect(await store.apply(transitionOf(queued!, 0))).toMatchObject({
          activated: true,
          activeCount: 1,
        });
        await store.apply(transitionOf(ringing!, 5));
        await store.apply(transitionOf(other!, 10));
        // The alert checks of an activation run when its publish goes through: on the retry.
        const again = await store.apply(transitionOf(queued!, lease + 1));
        expect(again).toMatchObject({ outcome: 'unpublished', activated: true, activeCount: 2 });
        // A change that did not activate the call is handed out without the claim.
        const ringingAgain = await store.apply(transitionOf(ringing!, lease + 6));
        expect(ringingAgain.outcome).toBe('unpublished');
        expect(ringingAgain.activated).toBeFalsy();
        await store.apply(transitionOf(ended!, lease + 20));
        // Once the call ended, its activation is history: nothing to check any more.
        await store.markPublishFailed({
          tenantId: 'tenant-a',
          callId: 'CA-reactivate',
          eventId: queued!.id,
        });
        const afterEnd = await store.apply(transitionOf(queued!, lease + 30));
        expect(afterEnd.outcome).toBe('unpublished');
        expect(afterEnd.activated).toBeFalsy();
      });

      it('keeps an unconfirmed call.ended in an outbox that one caller at a time can claim', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-outbox' });
        await store.apply(transitionOf(queued!, 0));
        await store.apply(transitionOf(ended!, 10));
        expect(await store.claimUnpublishedEnds('tenant-a', t0 + 20, lease, 10)).toEqual([]);
        const claimed = await store.claimUnpublishedEnds('tenant-a', t0 + lease + 10, lease, 10);
        expect(claimed).toHaveLength(1);
        expect(claimed[0]?.event).toMatchObject({
          id: ended!.id,
          type: 'call.ended',
          status: 'completed',
        });
        expect(claimed[0]?.call).toMatchObject({ callId: 'CA-outbox', status: 'completed' });
        expect(await store.claimUnpublishedEnds('tenant-a', t0 + lease + 11, lease, 10)).toEqual(
          [],
        );
        // The claim leased the event: a provider retry now is a duplicate.
        expect((await store.apply(transitionOf(ended!, lease + 12))).outcome).toBe('duplicate');
        await store.markPublished({
          tenantId: 'tenant-a',
          callId: 'CA-outbox',
          eventId: ended!.id,
        });
        expect(await store.claimUnpublishedEnds('tenant-a', t0 + 10 * lease, lease, 10)).toEqual(
          [],
        );
      });

      it('does not resurrect anything when confirming an unknown event', async () => {
        const store = await fresh();
        await store.markPublished({ tenantId: 'tenant-a', callId: 'CA-ghost', eventId: 'nope' });
        await store.markPublishFailed({
          tenantId: 'tenant-a',
          callId: 'CA-ghost',
          eventId: 'nope',
        });
        expect(await store.getCall('tenant-a', 'CA-ghost')).toBeUndefined();
      });
    });

    describe('queries', () => {
      it("lists active calls newest first, by branch, with a limit, and only the tenant's own", async () => {
        const store = await fresh();
        const starts = [
          { callId: 'CA-l1', branchId: 'north', startMs: 1000 },
          { callId: 'CA-l2', branchId: 'south', startMs: 3000 },
          { callId: 'CA-l3', branchId: 'north', startMs: 2000 },
          { callId: 'CA-l4', startMs: 4000 },
        ];
        for (const start of starts)
          await store.apply(transitionOf(callLifecycle(start)[0]!, start.startMs));
        await store.apply(
          transitionOf(callLifecycle({ callId: 'CA-other', tenantId: 'tenant-b' })[0]!, 0),
        );
        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        expect(ids(await store.listActiveCalls('tenant-a', { limit: 100 }))).toEqual([
          'CA-l4',
          'CA-l2',
          'CA-l3',
          'CA-l1',
        ]);
        expect(
          ids(await store.listActiveCalls('tenant-a', { branchId: 'north', limit: 100 })),
        ).toEqual(['CA-l3', 'CA-l1']);
        expect(ids(await store.listActiveCalls('tenant-a', { limit: 2 }))).toEqual([
          'CA-l4',
          'CA-l2',
        ]);
        expect(
          ids(await store.listActiveCalls('tenant-a', { startedBefore: t0 + 3000, limit: 100 })),
        ).toEqual(['CA-l3', 'CA-l1']);
        expect(ids(await store.listActiveCalls('tenant-b', { limit: 100 }))).toEqual(['CA-other']);
        expect(await store.getCall('tenant-b', 'CA-l1')).toBeUndefined();
        expect(await store.getCall('tenant-a', 'CA-other')).toBeUndefined();
        expect(await store.listTenants()).toEqual(expect.arrayContaining(['tenant-a', 'tenant-b']));
      });

      it("lists ended calls, the latest end first, by branch, with a limit, and only the tenant's own", async () => {
        const store = await fresh();
        const ends = [
          { callId: 'CA-e1', branchId: 'north', endAt: 1000 },
          { callId: 'CA-e2', branchId: 'south', endAt: 3000 },
          { callId: 'CA-e3', branchId: 'north', endAt: 2000 },
        ];
        const endOf = (events: CallEvent[]) => events.find((event) => event.type === 'call.ended')!;
        for (const end of ends) {
          const lifecycle = callLifecycle(end);
          await store.apply(transitionOf(lifecycle[0]!, 0));
          await store.apply(transitionOf(endOf(lifecycle), end.endAt));
        }
        // Still active, another tenant's, and a late duplicate end: none of them changes the list.
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-live' })[0]!, 4000));
        const other = callLifecycle({ callId: 'CA-other', tenantId: 'tenant-b' });
        await store.apply(transitionOf(endOf(other), 5000));
        await store.apply(transitionOf(endOf(callLifecycle(ends[0]!)), 6000));

        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        const recent = await store.listEndedCalls('tenant-a', { limit: 100 });
        expect(ids(recent)).toEqual(['CA-e2', 'CA-e3', 'CA-e1']);
        expect(recent.every((call) => !call.active && call.endedAt !== undefined)).toBe(true);
        expect(
          ids(await store.listEndedCalls('tenant-a', { branchId: 'north', limit: 100 })),
        ).toEqual(['CA-e3', 'CA-e1']);
        expect(ids(await store.listEndedCalls('tenant-a', { limit: 2 }))).toEqual([
          'CA-e2',
          'CA-e3',
        ]);
        expect(ids(await store.listEndedCalls('tenant-b', { limit: 100 }))).toEqual(['CA-other']);
        expect(await store.listEndedCalls('tenant-c', { limit: 100 })).toEqual([]);
      });

      it('counts active calls in total and per branch, through every transition', async () => {
        const store = await fresh();
        const north = callLifecycle({ callId: 'CA-c1', branchId: 'north' });
        const south = callLifecycle({ callId: 'CA-c2', branchId: 'south' });
        const none = callLifecycle({ callId: 'CA-c3' });
        for (const events of [north, south, none]) await store.apply(transitionOf(events[0]!, 0));
        await store.apply(transitionOf(north[1]!, 1));
        expect(await store.countActiveCalls('tenant-a')).toEqual({
          total: 3,
          byBranch: { north: 1, south: 1 },
        });
        await store.apply(transitionOf(north[3]!, 2));
        expect(await store.countActiveCalls('tenant-a')).toEqual({
          total: 2,
          byBranch: { south: 1 },
        });
        // A branch learned from a later event of an active call is counted from then on.
        await store.apply(transitionOf({ ...none[2]!, branchId: 'south' }, 3));
        expect(await store.countActiveCalls('tenant-a')).toEqual({
          total: 2,
          byBranch: { south: 2 },
        });
        expect(
          (await store.listActiveCalls('tenant-a', { branchId: 'south', limit: 10 })).length,
        ).toBe(2);
        await store.apply(transitionOf(none[3]!, 4));
        await store.apply(transitionOf(south[3]!, 5));
        expect(await store.countActiveCalls('tenant-a')).toEqual({ total: 0, byBranch: {} });
        expect(await store.countActiveCalls('tenant-unknown')).toEqual({ total: 0, byBranch: {} });
      });

      it('finds stale calls by their last change, oldest first', async () => {
        const store = await fresh();
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s1' })[0]!, 0));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s2' })[0]!, 1000));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s3' })[0]!, 5000));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s1' })[1]!, 2000));
        const stale = await store.findStaleCalls('tenant-a', t0 + 3000, 10);
        expect(stale.map((call) => call.callId)).toEqual(['CA-s2', 'CA-s1']);
        expect(await store.findStaleCalls('tenant-a', t0 + 3000, 1)).toHaveLength(1);
      });
    });

    describe('guarded transitions (the reaper)', () => {
      it('applies only when the call is active and unchanged since, and writes nothing otherwise', async () => {
        const store = await fresh();
        const [queued, ringing] = callLifecycle({ callId: 'CA-guard' });
        await store.apply(transitionOf(queued!, 0));
        const reap = makeCallEvent({
          id: 'calltrack:CA-guard:stale',
          type: 'call.ended',
          callId: 'CA-guard',
          status: 'failed',
          provider: 'calltrack',
          data: { reason: 'stale' },
        });
        await store.apply(transitionOf(ringing!, 500));
        const skipped = await store.apply(transitionOf(reap, 600, { expectUpdatedAt: t0 }));
        expect(skipped.outcome).toBe('skipped');
        expect(skipped.call?.status).toBe('ringing');
        const applied = await store.apply(transitionOf(reap, 700, { expectUpdatedAt: t0 + 500 }));
        expect(applied.outcome).toBe('ended');
        expect(applied.call).toMatchObject({ status: 'failed', reason: 'stale' });
        const again = await store.apply(transitionOf(reap, 800, { expectUpdatedAt: t0 + 500 }));
        expect(again.outcome).toBe('skipped');
        const unknown = await store.apply(
          transitionOf({ ...reap, callId: 'CA-none' }, 900, { expectUpdatedAt: t0 }),
        );
        expect(unknown).toEqual({ outcome: 'skipped' });
        expect(await store.getCall('tenant-a', 'CA-none')).toBeUndefined();
      });
    });

    describe('analytics', () => {
      const hour = 3_600_000;

      it('keeps peaks, levels, ended calls per status, durations and agent talk time per bucket', async () => {
        const store = await fresh();
        const a = callLifecycle({ callId: 'CA-a1', agentId: 'agent-1', talkMs: 30 * 60_000 });
        const b = callLifecycle({ callId: 'CA-a2', agentId: 'agent-2', startMs: 60_000 });
        const c = callLifecycle({ callId: 'CA-a3', startMs: 120_000, endStatus: 'no-answer' });
        await store.apply(transitionOf(a[0]!, 0));
        await store.apply(transitionOf(b[0]!, 60_000));
        await store.apply(transitionOf(c[0]!, 120_000));
        await store.apply(transitionOf({ ...c[3]!, data: {} }, 130_000));
        await store.apply(transitionOf(b[2]!, 140_000));
        await store.apply(transitionOf(b[3]!, 200_000));
        await store.apply(transitionOf(a[2]!, 300_000));
        // Ends 40 minutes into the next hour: its 30 minutes of talk split 20 / 10 across hours.
        await store.apply(transitionOf(a[3]!, hour + 10 * 60_000));

        const hours = await store.readAnalytics('tenant-a', 'hour', t0, t0 + 2 * hour);
        expect(hours).toEqual([
          {
            start: t0,
            started: 3,
            ended: 2,
            answered: 1,
            durationMs: 60_000,
            byStatus: { completed: 1, 'no-answer': 1 },
            open: 0,
            level: 1,
            peak: 3,
            agentTalkMs: 60_000 + 20 * 60_000,
            agents: 2,
          },
          {
            start: t0 + hour,
            started: 0,
            ended: 1,
            answered: 1,
            durationMs: 30 * 60_000,
            byStatus: { completed: 1 },
            open: 1,
            level: 0,
            // Peaks are of levels reached by a change; the builder adds the level it opened with.
            peak: 0,
            agentTalkMs: 10 * 60_000,
            agents: 1,
          },
        ]);
        const days = await store.readAnalytics('tenant-a', 'day', t0 - 10 * hour, t0 + 14 * hour);
        expect(days).toHaveLength(1);
        expect(days[0]).toMatchObject({
          start: t0 - 10 * hour,
          started: 3,
          ended: 3,
          peak: 3,
          level: 0,
          agents: 2,
        });
        const minutes = await store.readAnalytics('tenant-a', 'minute', t0, t0 + 3 * 60_000);
        expect(minutes.map((bucket) => [bucket.start - t0, bucket.started, bucket.ended])).toEqual([
          [0, 1, 0],
          [60_000, 1, 0],
          [120_000, 1, 1],
        ]);
        expect(minutes[0]?.agents).toBe(0);
        expect(await store.readAnalytics('tenant-b', 'hour', t0, t0 + hour)).toEqual([]);
      });
      it('counts a call first seen ended as started, in the buckets of its end', async () => {
        const store = await fresh();
        const [, , , ended] = callLifecycle({ callId: 'CA-end-only', endStatus: 'no-answer' });
        const [queued, , , otherEnd] = callLifecycle({ callId: 'CA-whole' });
        await store.apply(transitionOf(queued!, 0));
        await store.apply(transitionOf(otherEnd!, 90_000));
        await store.apply(transitionOf({ ...ended!, data: {} }, 150_000));
        const minutes = await store.readAnalytics('tenant-a', 'minute', t0, t0 + 3 * 60_000);
        expect(
          minutes.map((bucket) => [bucket.start - t0, bucket.started, bucket.ended, bucket.level]),
        ).toEqual([
          [0, 1, 0, 1],
          [60_000, 0, 1, 0],
          // Never active: counted as started and ended, and the level it never changed stays.
          [120_000, 1, 1, undefined],
        ]);
        for (const granularity of ['hour', 'day'] as const) {
          const [bucket] = await store.readAnalytics(
            'tenant-a',
            granularity,
            t0 - 86_400_000,
            t0 + 86_400_000,
          );
          expect(bucket).toMatchObject({ started: 2, ended: 2, peak: 1, level: 0 });
        }
      });
    });

    describe('alert claims', () => {
      it('grants a slot to one caller until it expires', async () => {
        const store = await fresh();
        const claims = await Promise.all(
          Array.from({ length: 4 }, () => store.claimAlert('tenant-a', 'concurrency', 60_000, t0)),
        );
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0)).toBe(true);
        expect(await store.claimAlert('tenant-a', 'other', 60_000, t0)).toBe(true);
      });

      it('extends a slot only while it is held', async () => {
        const store = await fresh();
        expect(await store.extendAlert('tenant-a', 'long', 60_000, t0)).toBe(false);
        expect(await store.claimAlert('tenant-a', 'long', 60_000, t0)).toBe(true);
        expect(await store.extendAlert('tenant-b', 'long', 60_000, t0)).toBe(false);
        expect(await store.extendAlert('tenant-a', 'long', 3_600_000, t0 + 1)).toBe(true);
        expect(await store.claimAlert('tenant-a', 'long', 60_000, t0 + 120_000)).toBe(false);
        await store.releaseAlert('tenant-a', 'long');
        expect(await store.extendAlert('tenant-a', 'long', 60_000, t0 + 120_000)).toBe(false);
        expect(await store.claimAlert('tenant-a', 'long', 60_000, t0 + 120_000)).toBe(true);
        expect(await store.claimAlert('tenant-b', 'long', 60_000, t0)).toBe(true);
      });

      it('frees a released slot for the next claim, and only that slot', async () => {
        const store = await fresh();
        expect(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0)).toBe(true);
        expect(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0)).toBe(true);
        await store.releaseAlert('tenant-a', 'concurrency');
        await store.releaseAlert('tenant-a', 'never-claimed');
        await store.releaseAlert('tenant-c', 'concurrency');
        expect(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0 + 1)).toBe(true);
        expect(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0 + 2)).toBe(false);
        expect(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0 + 1)).toBe(false);
      });
    });
  });
}

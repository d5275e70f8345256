import assert from 'node:assert/strict';
import type { CallEvent, ConformanceTestApi } from '@calltrack/core';
import type { CallStore, ListActiveCallsQuery } from './call-store';
import {
  callLifecycle,
  isoAt,
  makeCallEvent,
  t0,
  testSettings,
  transitionOf,
} from './make-call-event';
import { assertEqual, assertFields } from './suite-assertions';

/**
 * Every active call of `tenant-a`, a page at a time (each after the previous page's last call),
 * by id; `between` runs after each full page (its index) before the next is read.
 */
async function walkActiveCalls(
  store: CallStore,
  query: Omit<ListActiveCallsQuery, 'after'>,
  between?: (page: number) => Promise<void>,
): Promise<string[]> {
  const listed: string[] = [];
  let after: ListActiveCallsQuery['after'];
  for (let page = 0; page < 100; page += 1) {
    const calls = await store.listActiveCalls('tenant-a', {
      ...query,
      ...(after ? { after } : {}),
    });
    listed.push(...calls.map((call) => call.callId));
    if (calls.length < query.limit) return listed;
    const last = calls[calls.length - 1]!;
    after = { startedAt: Date.parse(last.startedAt ?? ''), callId: last.callId };
    await between?.(page);
  }
  throw new Error('The walk did not end within 100 pages.');
}

/** Options of {@link describeCallStore}. */
export interface CallStoreSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * A fresh, empty store for one test, and what to run after it (drop its keys, schema or
   * tables). The tests use the tenants `tenant-a`, `tenant-b`, `tenant-c` and `tenant-unknown`,
   * and expect to find only their own calls there.
   */
  createStore: () => Promise<{ store: CallStore; cleanup?: () => Promise<void> }>;
}

const lease = testSettings.publishLeaseMs;

/** When the suite reads a store: after every transition of a test, within the retention. */
const readAt = t0 + 3_600_000;

/**
 * The contract every {@link CallStore} must honour: the state machine (forward only, one end per
 * call, enrichment, details merged by timeline position), duplicates and the publish lease, the
 * `call.ended` outbox, queries and counts, the reaper's guarded transitions, analytics buckets,
 * alert slots and a call's own alerts. The memory and Redis stores (also on a Redis Cluster) run
 * these very tests; run them on your own store (PostgreSQL, DynamoDB…) with any test runner.
 *
 * The suite's clock starts at 2026-11-21T10:00:00.000Z and reaches a store only as the
 * transitions' `at` and the `now` arguments: decide with those, not with the wall clock. The
 * transitions are the ones the tracker makes (30 s publish lease, one day of retention).
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describeCallStore } from '@calltrack/tracker/testing';
 * describeCallStore({ describe, it, afterEach }, {
 *   name: 'my store',
 *   createStore: async () => ({ store: createMyStore() }),
 * });
 */
export function describeCallStore(test: ConformanceTestApi, options: CallStoreSuiteOptions): void {
  const { describe, it, afterEach } = test;

  describe(`CallStore conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const fresh = async (): Promise<CallStore> => {
      const { store, cleanup } = await options.createStore();
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
        assertFields(result, { outcome: 'changed', activated: true, activeCount: 1 });
        assertEqual(result.call, {
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
        assertEqual(await store.getCall('tenant-a', 'CA-new', readAt), result.call);
      });

      it('moves forward only, and a late status after the end is recorded but changes nothing', async () => {
        const store = await fresh();
        const [queued, ringing, answered, ended] = callLifecycle({ callId: 'CA-fwd' });
        assert.equal((await store.apply(transitionOf(queued!, 10))).outcome, 'changed');
        assert.equal((await store.apply(transitionOf(answered!, 20))).outcome, 'changed');
        const lateRinging = await store.apply(transitionOf(ringing!, 30));
        assert.equal(lateRinging.outcome, 'ignored');
        assertFields(lateRinging.call, { status: 'in-progress', version: 2 });
        const end = await store.apply(transitionOf(ended!, 40));
        assertFields(end, { outcome: 'ended', activeCount: 0 });
        assertFields(end.call, { status: 'completed', active: false, durationMs: 60_000 });
        const afterEnd = makeCallEvent({
          callId: 'CA-fwd',
          status: 'ringing',
          occurredAt: isoAt(90_000),
        });
        const ignored = await store.apply(transitionOf(afterEnd, 50));
        assert.equal(ignored.outcome, 'ignored');
        assertFields(ignored.call, {
          status: 'completed',
          version: 3,
          updatedAt: isoAt(40),
        });
        // Recorded: the same event again is a duplicate, not another verdict.
        assert.equal((await store.apply(transitionOf(afterEnd, 60))).outcome, 'duplicate');
      });

      it('ends a call exactly once, whoever tries to end it', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-once', endStatus: 'busy' });
        await store.apply(transitionOf(queued!, 10));
        const first = await store.apply(transitionOf(ended!, 20));
        assert.equal(first.outcome, 'ended');
        const otherSource = makeCallEvent({
          id: 'retell:CA-once:ended',
          type: 'call.ended',
          callId: 'CA-once',
          status: 'completed',
          provider: 'retell',
          data: { durationMs: 1 },
        });
        const second = await store.apply(transitionOf(otherSource, 30));
        assert.equal(second.outcome, 'ignored');
        assertFields(second.call, { status: 'busy', durationMs: 60_000 });
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
        assert.equal(results.filter((result) => result.outcome === 'ended').length, 1);
        assert.equal((await store.countActiveCalls('tenant-a')).total, 0);
      });

      it('enriches an ended call with analysis and recording, without moving its status', async () => {
        const store = await fresh();
        const [queued, , answered, ended, recording, analyzed] = callLifecycle({
          callId: 'CA-enrich',
        });
        for (const [index, event] of [queued, answered, ended].entries()) {
          await store.apply(transitionOf(event!, index));
        }
        assert.equal((await store.apply(transitionOf(recording!, 10))).outcome, 'enriched');
        const result = await store.apply(transitionOf(analyzed!, 11));
        assert.equal(result.outcome, 'enriched');
        assertFields(result.call, {
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
        assert.equal(result.outcome, 'enriched');
        assert.equal(result.call?.status, undefined);
        assert.equal(result.call?.active, false);
        assert.equal(result.activated, undefined);
        assertEqual(await store.countActiveCalls('tenant-a'), { total: 0, byBranch: {} });
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
        assertFields(await store.getCall('tenant-a', 'CA-time', readAt), {
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
          const call = await store.getCall('tenant-a', 'CA-merge', readAt);
          finals.push({
            answeredBy: call?.answeredBy,
            disconnectionReason: call?.disconnectionReason,
          });
        }
        assertEqual(
          finals,
          orders.map(() => ({ answeredBy: 'human', disconnectionReason: 'first' })),
        );
      });

      it('keeps the same detail in every order when events with and without a sequence mix', async () => {
        // A (sequence 1, +10 s), B (none, +5 s), C (sequence 2, +0 s): by sequence A < C, by
        // time C < B < A. The timeline goes by time first, so A, the latest, wins in every order.
        const events = [
          { id: 'mix-a', sequence: 1, ms: 10_000 },
          { id: 'mix-b', ms: 5_000 },
          { id: 'mix-c', sequence: 2, ms: 0 },
        ].map(({ id, sequence, ms }) =>
          makeCallEvent({
            id,
            callId: 'CA-mix',
            type: 'call.machine_detection',
            status: undefined,
            occurredAt: isoAt(ms),
            ...(sequence === undefined ? {} : { sequence }),
            data: { disconnectionReason: id },
          }),
        );
        const orders = [
          [0, 1, 2],
          [0, 2, 1],
          [1, 0, 2],
          [1, 2, 0],
          [2, 0, 1],
          [2, 1, 0],
        ];
        const finals = [];
        for (const order of orders) {
          const store = await fresh();
          for (const [index, position] of order.entries()) {
            await store.apply(transitionOf(events[position]!, 20_000 + index));
          }
          finals.push((await store.getCall('tenant-a', 'CA-mix', readAt))?.disconnectionReason);
        }
        assertEqual(
          finals,
          orders.map(() => 'mix-a'),
        );
      });

      it('breaks a tie of timeline positions by event id in code point order (UTF-8 byte order)', async () => {
        // Same time, no sequence: the id decides. U+1F600 comes after U+FF01 by code point and in
        // UTF-8, though its first UTF-16 code unit (0xD83D) comes before 0xFF01.
        const events = ['tie:\u{1F600}', 'tie:\uFF01'].map((id) =>
          makeCallEvent({
            id,
            callId: 'CA-tie',
            type: 'call.machine_detection',
            status: undefined,
            data: { disconnectionReason: id },
          }),
        );
        const finals = [];
        for (const order of [events, [...events].reverse()]) {
          const store = await fresh();
          for (const [index, event] of order.entries()) {
            await store.apply(transitionOf(event, index));
          }
          finals.push((await store.getCall('tenant-a', 'CA-tie', readAt))?.disconnectionReason);
        }
        assertEqual(finals, ['tie:\u{1F600}', 'tie:\u{1F600}']);
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
        assertFields(await store.getCall('tenant-a', 'CA-id', readAt), {
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
        assert.equal((await store.apply(transitionOf(queued!, 10))).outcome, 'duplicate');
        await store.markPublished({ tenantId: 'tenant-a', callId: 'CA-dup', eventId: queued!.id });
        assert.equal((await store.apply(transitionOf(queued!, lease + 10))).outcome, 'duplicate');
      });

      it('hands an unconfirmed change out again once its lease ran out, to one caller', async () => {
        const store = await fresh();
        const [queued] = callLifecycle({ callId: 'CA-lease' });
        await store.apply(transitionOf(queued!, 0));
        const again = await store.apply(transitionOf(queued!, lease + 1));
        assert.equal(again.outcome, 'unpublished');
        assertFields(again.call, { status: 'queued', version: 1 });
        assert.equal((await store.apply(transitionOf(queued!, lease + 2))).outcome, 'duplicate');
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
        assert.equal((await store.apply(transitionOf(ended!, 20))).outcome, 'unpublished');
        assert.equal((await store.apply(transitionOf(ended!, 30))).outcome, 'duplicate');
      });

      it('says a change handed out again made the call active, while the call still is', async () => {
        const store = await fresh();
        const [queued, ringing, , ended] = callLifecycle({ callId: 'CA-reactivate' });
        const [other] = callLifecycle({ callId: 'CA-other' });
        assertFields(await store.apply(transitionOf(queued!, 0)), {
          activated: true,
          activeCount: 1,
        });
        await store.apply(transitionOf(ringing!, 5));
        await store.apply(transitionOf(other!, 10));
        // The alert checks of an activation run when its publish goes through: on the retry.
        const again = await store.apply(transitionOf(queued!, lease + 1));
        assertFields(again, { outcome: 'unpublished', activated: true, activeCount: 2 });
        // A change that did not activate the call is handed out without the claim.
        const ringingAgain = await store.apply(transitionOf(ringing!, lease + 6));
        assert.equal(ringingAgain.outcome, 'unpublished');
        assert.ok(!ringingAgain.activated, 'not activated');
        await store.apply(transitionOf(ended!, lease + 20));
        // Once the call ended, its activation is history: nothing to check any more.
        await store.markPublishFailed({
          tenantId: 'tenant-a',
          callId: 'CA-reactivate',
          eventId: queued!.id,
        });
        const afterEnd = await store.apply(transitionOf(queued!, lease + 30));
        assert.equal(afterEnd.outcome, 'unpublished');
        assert.ok(!afterEnd.activated, 'not activated');
      });

      it('keeps an unconfirmed call.ended in an outbox that one caller at a time can claim', async () => {
        const store = await fresh();
        const [queued, , , ended] = callLifecycle({ callId: 'CA-outbox' });
        await store.apply(transitionOf(queued!, 0));
        await store.apply(transitionOf(ended!, 10));
        assertEqual(await store.claimUnpublishedEnds('tenant-a', t0 + 20, lease, 10), []);
        const claimed = await store.claimUnpublishedEnds('tenant-a', t0 + lease + 10, lease, 10);
        assert.equal(claimed.length, 1);
        assertFields(claimed[0]?.event, {
          id: ended!.id,
          type: 'call.ended',
          status: 'completed',
        });
        assertFields(claimed[0]?.call, { callId: 'CA-outbox', status: 'completed' });
        assertEqual(await store.claimUnpublishedEnds('tenant-a', t0 + lease + 11, lease, 10), []);
        // The claim leased the event: a provider retry now is a duplicate.
        assert.equal((await store.apply(transitionOf(ended!, lease + 12))).outcome, 'duplicate');
        await store.markPublished({
          tenantId: 'tenant-a',
          callId: 'CA-outbox',
          eventId: ended!.id,
        });
        assertEqual(await store.claimUnpublishedEnds('tenant-a', t0 + 10 * lease, lease, 10), []);
      });

      it('does not resurrect anything when confirming an unknown event', async () => {
        const store = await fresh();
        await store.markPublished({ tenantId: 'tenant-a', callId: 'CA-ghost', eventId: 'nope' });
        await store.markPublishFailed({
          tenantId: 'tenant-a',
          callId: 'CA-ghost',
          eventId: 'nope',
        });
        assert.equal(await store.getCall('tenant-a', 'CA-ghost', readAt), undefined);
      });
    });

    describe('queries', () => {
      it("lists a user's active calls (as agent or as user) newest first, among many others", async () => {
        const store = await fresh();
        const queued = (
          callId: string,
          startMs: number,
          who: { agentId?: string; userId?: string; branchId?: string; tenantId?: string },
        ) => {
          const [event] = callLifecycle({
            callId,
            startMs,
            ...(who.agentId === undefined ? {} : { agentId: who.agentId }),
            ...(who.branchId === undefined ? {} : { branchId: who.branchId }),
            ...(who.tenantId === undefined ? {} : { tenantId: who.tenantId }),
          });
          return transitionOf(
            { ...event!, ...(who.userId === undefined ? {} : { userId: who.userId }) },
            startMs,
          );
        };
        await store.apply(queued('CA-u-agent', 1000, { agentId: 'agent-7', branchId: 'north' }));
        await store.apply(queued('CA-u-user', 2000, { userId: 'agent-7' }));
        await store.apply(queued('CA-u-both', 3000, { agentId: 'agent-7', userId: 'agent-7' }));
        await store.apply(
          queued('CA-u-other-tenant', 3500, { agentId: 'agent-7', tenantId: 'tenant-b' }),
        );
        const [, , , ended] = callLifecycle({ callId: 'CA-u-ended', agentId: 'agent-7' });
        await store.apply(transitionOf(ended!, 3600));
        // Calls of others, started later (newer): more than a store reads in one page.
        for (let batch = 0; batch < 11; batch += 1) {
          await Promise.all(
            Array.from({ length: 100 }, (_, index) =>
              store.apply(
                queued(`CA-u-busy-${batch}-${index}`, 10_000 + batch * 100 + index, {
                  agentId: 'agent-1',
                  userId: 'user-1',
                }),
              ),
            ),
          );
        }
        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        assertEqual(
          ids(await store.listActiveCalls('tenant-a', { userId: 'agent-7', limit: 100 })),
          ['CA-u-both', 'CA-u-user', 'CA-u-agent'],
        );
        assertEqual(ids(await store.listActiveCalls('tenant-a', { userId: 'agent-7', limit: 2 })), [
          'CA-u-both',
          'CA-u-user',
        ]);
        assertEqual(
          ids(
            await store.listActiveCalls('tenant-a', {
              userId: 'agent-7',
              branchId: 'north',
              limit: 100,
            }),
          ),
          ['CA-u-agent'],
        );
        assertEqual(
          ids(await store.listActiveCalls('tenant-a', { userId: 'nobody', limit: 100 })),
          [],
        );
        assertEqual(
          (await store.listActiveCalls('tenant-a', { userId: 'user-1', limit: 2000 })).length,
          1100,
        );
      });

      it('pages through active calls after a call: each once, ties at page edges included', async () => {
        const store = await fresh();
        // 20 calls, four to a start: pages of 3 (or 1) end among calls of one start.
        for (let index = 0; index < 20; index += 1) {
          const startMs = 1000 * Math.floor(index / 4);
          const [queued] = callLifecycle({
            callId: `CA-p${String(index).padStart(2, '0')}`,
            startMs,
            ...(index % 2 === 0 ? { branchId: 'north' } : {}),
          });
          await store.apply(transitionOf(queued!, startMs));
        }
        await store.apply(
          transitionOf(callLifecycle({ callId: 'CA-p-other', tenantId: 'tenant-b' })[0]!, 0),
        );
        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        const all = ids(await store.listActiveCalls('tenant-a', { limit: 100 }));
        assert.equal(all.length, 20);
        const north = ids(
          await store.listActiveCalls('tenant-a', { branchId: 'north', limit: 100 }),
        );
        assertEqual(
          await walkActiveCalls(store, { limit: 3 }),
          all,
          'pages of 3 list every call once, in order',
        );
        assertEqual(await walkActiveCalls(store, { limit: 1 }), all, 'pages of 1 too');
        assertEqual(
          await walkActiveCalls(store, { branchId: 'north', limit: 3 }),
          north,
          'a branch pages the same way',
        );
        // The stricter of `after` and `startedBefore`.
        const cursor = { startedAt: t0 + 3000, callId: 'CA-p13' };
        const afterCursor = all.slice(all.indexOf('CA-p13') + 1);
        assertEqual(
          ids(await store.listActiveCalls('tenant-a', { after: cursor, limit: 100 })),
          afterCursor,
        );
        assertEqual(
          ids(
            await store.listActiveCalls('tenant-a', {
              after: cursor,
              startedBefore: t0 + 3000,
              limit: 100,
            }),
          ),
          afterCursor.filter((callId) => Number(callId.slice(4)) < 12),
        );
        assertEqual(
          ids(
            await store.listActiveCalls('tenant-a', {
              after: cursor,
              startedBefore: t0 + 5000,
              limit: 100,
            }),
          ),
          afterCursor,
        );
        assertEqual(
          ids(
            await store.listActiveCalls('tenant-a', { after: cursor, userId: 'nobody', limit: 9 }),
          ),
          [],
        );
        assertEqual(
          ids(
            await store.listActiveCalls('tenant-b', {
              after: { startedAt: t0, callId: 'CA-p-other' },
              limit: 9,
            }),
          ),
          [],
        );
      });

      it('pages on from a call that ended, and calls that start or end between pages shift nothing', async () => {
        const store = await fresh();
        const start = async (callId: string, startMs: number) => {
          const [queued] = callLifecycle({ callId, startMs });
          await store.apply(transitionOf(queued!, Math.max(startMs, 0) + 100_000));
        };
        const end = async (callId: string) => {
          const [, , , ended] = callLifecycle({ callId });
          await store.apply(transitionOf(ended!, 200_000));
        };
        for (let index = 0; index < 12; index += 1) {
          await start(`CA-w${String(index).padStart(2, '0')}`, 1000 * Math.floor(index / 3));
        }
        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        // Newest first: w11 w10 w09 (3000), w08 w07 w06 (2000), w05 w04 w03 (1000), w02 w01 w00 (0).
        const listed = await walkActiveCalls(store, { limit: 4 }, async (page) => {
          if (page !== 0) return;
          // The first page ended on w08 (of 2000, with w07 and w06 still to come).
          await end('CA-w08'); // the cursor itself
          await end('CA-w07'); // the next one, not listed yet
          await start('CA-w12', 4000); // newer than every page: not listed
          await start('CA-w00a', 0); // behind the cursor (an event that came late): listed
          await start('CA-w07a', 2000); // at the cursor's start, a lower id: listed
          await start('CA-w08a', 2000); // at the cursor's start, a higher id: not listed
        });
        assertEqual(
          listed,
          [
            ['CA-w11', 'CA-w10', 'CA-w09', 'CA-w08'],
            ['CA-w07a', 'CA-w06', 'CA-w05', 'CA-w04', 'CA-w03', 'CA-w02', 'CA-w01', 'CA-w00a'],
            ['CA-w00'],
          ].flat(),
        );
        assertEqual(ids(await store.listActiveCalls('tenant-a', { limit: 3 })), [
          'CA-w12',
          'CA-w11',
          'CA-w10',
        ]);
      });

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
        assertEqual(ids(await store.listActiveCalls('tenant-a', { limit: 100 })), [
          'CA-l4',
          'CA-l2',
          'CA-l3',
          'CA-l1',
        ]);
        assertEqual(
          ids(await store.listActiveCalls('tenant-a', { branchId: 'north', limit: 100 })),
          ['CA-l3', 'CA-l1'],
        );
        assertEqual(ids(await store.listActiveCalls('tenant-a', { limit: 2 })), ['CA-l4', 'CA-l2']);
        assertEqual(
          ids(await store.listActiveCalls('tenant-a', { startedBefore: t0 + 3000, limit: 100 })),
          ['CA-l3', 'CA-l1'],
        );
        assertEqual(ids(await store.listActiveCalls('tenant-b', { limit: 100 })), ['CA-other']);
        assert.equal(await store.getCall('tenant-b', 'CA-l1', readAt), undefined);
        assert.equal(await store.getCall('tenant-a', 'CA-other', readAt), undefined);
        const tenants = await store.listTenants();
        for (const tenantId of ['tenant-a', 'tenant-b']) {
          assert.ok(tenants.includes(tenantId), `listTenants() has ${tenantId}`);
        }
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
        const recent = await store.listEndedCalls('tenant-a', { limit: 100, now: readAt });
        assertEqual(ids(recent), ['CA-e2', 'CA-e3', 'CA-e1']);
        assert.equal(
          recent.every((call) => !call.active && call.endedAt !== undefined),
          true,
        );
        assertEqual(
          ids(
            await store.listEndedCalls('tenant-a', { branchId: 'north', limit: 100, now: readAt }),
          ),
          ['CA-e3', 'CA-e1'],
        );
        assertEqual(ids(await store.listEndedCalls('tenant-a', { limit: 2, now: readAt })), [
          'CA-e2',
          'CA-e3',
        ]);
        assertEqual(ids(await store.listEndedCalls('tenant-b', { limit: 100, now: readAt })), [
          'CA-other',
        ]);
        assertEqual(await store.listEndedCalls('tenant-c', { limit: 100, now: readAt }), []);
      });

      it('forgets an ended call endedCallRetentionMs after its last change, for reads at that time', async () => {
        const store = await fresh();
        const day = testSettings.endedCallRetentionMs;
        const endOf = (events: CallEvent[]) => events.find((event) => event.type === 'call.ended')!;
        const ended = callLifecycle({ callId: 'CA-gone' });
        await store.apply(transitionOf(ended[0]!, 0));
        await store.apply(transitionOf(endOf(ended), 1000));
        // A call enriched after its end is kept for the retention after that change.
        const enriched = callLifecycle({ callId: 'CA-kept' });
        await store.apply(transitionOf(enriched[0]!, 0));
        await store.apply(transitionOf(endOf(enriched), 2000));
        const analyzed = enriched.find((event) => event.type === 'call.analyzed')!;
        assert.equal((await store.apply(transitionOf(analyzed, 5000))).outcome, 'enriched');
        const live = callLifecycle({ callId: 'CA-live' });
        await store.apply(transitionOf(live[0]!, 0));

        // Nothing else happens in the tenant: the reads alone are told the time.
        assertFields(await store.getCall('tenant-a', 'CA-gone', t0 + 1000 + day - 1), {
          status: 'completed',
        });
        const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
        assertEqual(
          ids(await store.listEndedCalls('tenant-a', { limit: 10, now: t0 + 1000 + day - 1 })),
          ['CA-kept', 'CA-gone'],
        );
        assert.equal(await store.getCall('tenant-a', 'CA-gone', t0 + 1000 + day), undefined);
        assertEqual(
          ids(await store.listEndedCalls('tenant-a', { limit: 10, now: t0 + 1000 + day })),
          ['CA-kept'],
        );
        assertFields(await store.getCall('tenant-a', 'CA-kept', t0 + 5000 + day - 1), {
          status: 'completed',
        });
        assert.equal(await store.getCall('tenant-a', 'CA-kept', t0 + 5000 + day), undefined);
        assertEqual(
          ids(await store.listEndedCalls('tenant-a', { limit: 10, now: t0 + 5000 + day })),
          [],
        );
        // An active call never expires.
        assertFields(await store.getCall('tenant-a', 'CA-live', t0 + 10 * day), { active: true });
      });

      it('counts active calls in total and per branch, through every transition', async () => {
        const store = await fresh();
        const north = callLifecycle({ callId: 'CA-c1', branchId: 'north' });
        const south = callLifecycle({ callId: 'CA-c2', branchId: 'south' });
        const none = callLifecycle({ callId: 'CA-c3' });
        for (const events of [north, south, none]) await store.apply(transitionOf(events[0]!, 0));
        await store.apply(transitionOf(north[1]!, 1));
        assertEqual(await store.countActiveCalls('tenant-a'), {
          total: 3,
          byBranch: { north: 1, south: 1 },
        });
        await store.apply(transitionOf(north[3]!, 2));
        assertEqual(await store.countActiveCalls('tenant-a'), {
          total: 2,
          byBranch: { south: 1 },
        });
        // A branch learned from a later event of an active call is counted from then on.
        await store.apply(transitionOf({ ...none[2]!, branchId: 'south' }, 3));
        assertEqual(await store.countActiveCalls('tenant-a'), {
          total: 2,
          byBranch: { south: 2 },
        });
        assert.equal(
          (await store.listActiveCalls('tenant-a', { branchId: 'south', limit: 10 })).length,
          2,
        );
        await store.apply(transitionOf(none[3]!, 4));
        await store.apply(transitionOf(south[3]!, 5));
        assertEqual(await store.countActiveCalls('tenant-a'), { total: 0, byBranch: {} });
        assertEqual(await store.countActiveCalls('tenant-unknown'), { total: 0, byBranch: {} });
      });

      it('counts a branch whatever its name, "__proto__" too', async () => {
        const store = await fresh();
        for (const [index, branchId] of ['__proto__', 'constructor'].entries()) {
          const [first] = callLifecycle({ callId: `CA-b${index}`, branchId });
          await store.apply(transitionOf(first!, index));
        }
        const count = await store.countActiveCalls('tenant-a');
        assertEqual(JSON.parse(JSON.stringify(count)), {
          total: 2,
          byBranch: JSON.parse('{"__proto__":1,"constructor":1}'),
        });
      });

      it('finds calls gone stale by a time: last change plus the timeout of their status, earliest first', async () => {
        const store = await fresh();
        const { staleAfterMs, answeredStaleAfterMs } = testSettings;
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s1' })[0]!, 0));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s2' })[0]!, 1000));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s3' })[0]!, 5000));
        await store.apply(transitionOf(callLifecycle({ callId: 'CA-s1' })[1]!, 2000));
        // Answered: held for answeredStaleAfterMs; a status it is past is no change.
        const talking = callLifecycle({ callId: 'CA-s4' });
        await store.apply(transitionOf(talking[2]!, 0));
        await store.apply(transitionOf(talking[1]!, 3000));
        // Ended: not active, never stale.
        const ended = callLifecycle({ callId: 'CA-s5' });
        await store.apply(transitionOf(ended[0]!, 0));
        await store.apply(transitionOf(ended[3]!, 10));
        const staleAt = async (ms: number, limit = 10) =>
          (await store.findStaleCalls('tenant-a', t0 + ms, limit)).map((call) => call.callId);
        assertEqual(await staleAt(staleAfterMs + 3000), ['CA-s2', 'CA-s1']);
        assertEqual(await staleAt(staleAfterMs + 3000, 1), ['CA-s2']);
        assertEqual(await staleAt(answeredStaleAfterMs), ['CA-s2', 'CA-s1', 'CA-s3']);
        assertEqual(await staleAt(answeredStaleAfterMs + 1), ['CA-s2', 'CA-s1', 'CA-s3', 'CA-s4']);
        // Any change starts the timeout again: an enrichment of the answered call.
        await store.apply(transitionOf(talking[4]!, answeredStaleAfterMs));
        assertEqual(await staleAt(2 * answeredStaleAfterMs), ['CA-s2', 'CA-s1', 'CA-s3']);
        assertEqual(await staleAt(2 * answeredStaleAfterMs + 1), [
          'CA-s2',
          'CA-s1',
          'CA-s3',
          'CA-s4',
        ]);
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
        assert.equal(skipped.outcome, 'skipped');
        assert.equal(skipped.call?.status, 'ringing');
        const applied = await store.apply(transitionOf(reap, 700, { expectUpdatedAt: t0 + 500 }));
        assert.equal(applied.outcome, 'ended');
        assertFields(applied.call, { status: 'failed', reason: 'stale' });
        const again = await store.apply(transitionOf(reap, 800, { expectUpdatedAt: t0 + 500 }));
        assert.equal(again.outcome, 'skipped');
        const unknown = await store.apply(
          transitionOf({ ...reap, callId: 'CA-none' }, 900, { expectUpdatedAt: t0 }),
        );
        assertEqual(unknown, { outcome: 'skipped' });
        assert.equal(await store.getCall('tenant-a', 'CA-none', readAt), undefined);
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
        assertEqual(hours, [
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
        assert.equal(days.length, 1);
        assertFields(days[0], {
          start: t0 - 10 * hour,
          started: 3,
          ended: 3,
          peak: 3,
          level: 0,
          agents: 2,
        });
        const minutes = await store.readAnalytics('tenant-a', 'minute', t0, t0 + 3 * 60_000);
        assertEqual(
          minutes.map((bucket) => [bucket.start - t0, bucket.started, bucket.ended]),
          [
            [0, 1, 0],
            [60_000, 1, 0],
            [120_000, 1, 1],
          ],
        );
        assert.equal(minutes[0]?.agents, 0);
        assertEqual(await store.readAnalytics('tenant-b', 'hour', t0, t0 + hour), []);
      });
      it('counts a call first seen ended as started, in the buckets of its end', async () => {
        const store = await fresh();
        const [, , , ended] = callLifecycle({ callId: 'CA-end-only', endStatus: 'no-answer' });
        const [queued, , , otherEnd] = callLifecycle({ callId: 'CA-whole' });
        await store.apply(transitionOf(queued!, 0));
        await store.apply(transitionOf(otherEnd!, 90_000));
        await store.apply(transitionOf({ ...ended!, data: {} }, 150_000));
        const minutes = await store.readAnalytics('tenant-a', 'minute', t0, t0 + 3 * 60_000);
        assertEqual(
          minutes.map((bucket) => [bucket.start - t0, bucket.started, bucket.ended, bucket.level]),
          [
            [0, 1, 0, 1],
            [60_000, 0, 1, 0],
            // Never active: counted as started and ended, and the level it never changed stays.
            [120_000, 1, 1, undefined],
          ],
        );
        for (const granularity of ['hour', 'day'] as const) {
          const [bucket] = await store.readAnalytics(
            'tenant-a',
            granularity,
            t0 - 86_400_000,
            t0 + 86_400_000,
          );
          assertFields(bucket, { started: 2, ended: 2, peak: 1, level: 0 });
        }
      });
    });

    describe('alert claims', () => {
      it('grants a slot to one caller until it expires', async () => {
        const store = await fresh();
        const claims = await Promise.all(
          Array.from({ length: 4 }, () => store.claimAlert('tenant-a', 'concurrency', 60_000, t0)),
        );
        assert.equal(claims.filter(Boolean).length, 1);
        assert.equal(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0), true);
        assert.equal(await store.claimAlert('tenant-a', 'other', 60_000, t0), true);
      });

      it("grants a call's alert to one caller for as long as the call stays active", async () => {
        const store = await fresh();
        const [queued, ringing, , ended] = callLifecycle({ callId: 'CA-alerted' });
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'long_call'), false);
        await store.apply(transitionOf(queued!, 0));
        const claims = await Promise.all(
          Array.from({ length: 4 }, () =>
            store.claimCallAlert('tenant-a', 'CA-alerted', 'long_call'),
          ),
        );
        assert.equal(claims.filter(Boolean).length, 1);
        // Held by the call, not for a time: later changes of the call keep it.
        await store.apply(transitionOf(ringing!, 2 * 86_400_000));
        await store.apply(
          transitionOf(
            makeCallEvent({
              callId: 'CA-alerted',
              type: 'call.transcript',
              status: undefined,
              occurredAt: isoAt(3 * 86_400_000),
              data: { transcript: 'still talking' },
            }),
            3 * 86_400_000,
          ),
        );
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'long_call'), false);
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'other'), true);
        assert.equal(await store.claimCallAlert('tenant-b', 'CA-alerted', 'long_call'), false);
        await store.releaseCallAlert('tenant-a', 'CA-alerted', 'long_call');
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'long_call'), true);
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'other'), false);

        // Only active calls are alerted; freeing an unknown call's alert creates nothing.
        await store.apply(transitionOf(ended!, 3 * 86_400_000 + 1));
        assert.equal(await store.claimCallAlert('tenant-a', 'CA-alerted', 'third'), false);
        await store.releaseCallAlert('tenant-a', 'CA-unknown', 'long_call');
        await store.releaseCallAlert('tenant-c', 'CA-alerted', 'long_call');
        assert.equal(await store.getCall('tenant-a', 'CA-unknown', readAt), undefined);
        assert.equal(await store.getCall('tenant-c', 'CA-alerted', readAt), undefined);
      });

      it('frees a released slot for the next claim, and only that slot', async () => {
        const store = await fresh();
        assert.equal(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0), true);
        assert.equal(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0), true);
        await store.releaseAlert('tenant-a', 'concurrency');
        await store.releaseAlert('tenant-a', 'never-claimed');
        await store.releaseAlert('tenant-c', 'concurrency');
        assert.equal(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0 + 1), true);
        assert.equal(await store.claimAlert('tenant-a', 'concurrency', 60_000, t0 + 2), false);
        assert.equal(await store.claimAlert('tenant-b', 'concurrency', 60_000, t0 + 1), false);
      });
    });
  });
}

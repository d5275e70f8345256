import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent, CallSnapshot } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import { createRecordingBus } from './__tests__/recording-bus';
import { type CallPosition, compareCallPositions } from './call-position';
import type { CallStore } from './call-store';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, isoAt, makeCallEvent, t0 } from './make-call-event';

/** A lifecycle, a subset of it that always keeps the end, and how often each event repeats. */
const scenarioArbitrary = fc
  .record({
    talkMs: fc.integer({ min: 0, max: 2 * 3_600_000 }),
    endStatus: fc.constantFrom('completed', 'busy', 'no-answer', 'failed', 'canceled' as const),
    agentId: fc.option(fc.constantFrom('agent-1', 'agent-2'), { nil: undefined }),
    branchId: fc.option(fc.constantFrom('north', 'south'), { nil: undefined }),
    endCarriesDuration: fc.boolean(),
    /** Retell's analysis repeats the duration: a second writer of the same detail. */
    analysisCarriesDuration: fc.boolean(),
    keep: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    copies: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 6, maxLength: 6 }),
  })
  .chain((scenario) => {
    const events = callLifecycle({
      callId: 'CA-prop',
      talkMs: scenario.talkMs,
      endStatus: scenario.endStatus,
      ...(scenario.agentId === undefined ? {} : { agentId: scenario.agentId }),
      ...(scenario.branchId === undefined ? {} : { branchId: scenario.branchId }),
    }).map((event) => {
      if (event.type === 'call.ended' && !scenario.endCarriesDuration)
        return { ...event, data: {} };
      if (event.type === 'call.analyzed' && scenario.analysisCarriesDuration) {
        return { ...event, data: { ...event.data, durationMs: scenario.talkMs + 7 } };
      }
      return event;
    });
    const kept = events.filter(
      (event, index) => event.type === 'call.ended' || scenario.keep[index],
    );
    const delivered = kept.flatMap((event) => {
      const copies = scenario.copies[events.indexOf(event)] ?? 1;
      return Array.from({ length: copies }, () => event);
    });
    return fc
      .shuffledSubarray(delivered, { minLength: delivered.length, maxLength: delivered.length })
      .map((shuffled) => ({ inOrder: kept, shuffled }));
  });

/**
 * Events of one call that all carry the same detail, with and without a provider sequence and
 * with times and sequences that often tie, in the order given and shuffled.
 */
const mixedTimelineArbitrary = fc
  .uniqueArray(
    fc.record(
      {
        id: fc.constantFrom(
          'mix-a',
          'mix-b',
          'mix-c',
          'mix-d',
          'mix-e',
          'mix-\uFF01',
          'mix-\u{1F600}',
        ),
        sequence: fc.integer({ min: 0, max: 3 }),
        second: fc.integer({ min: 0, max: 3 }),
      },
      { requiredKeys: ['id', 'second'] },
    ),
    { minLength: 2, maxLength: 5, selector: (event) => event.id },
  )
  .map((specs) =>
    specs.map(({ id, sequence, second }) =>
      makeCallEvent({
        id,
        callId: 'CA-prop',
        type: 'call.machine_detection',
        status: undefined,
        occurredAt: isoAt(second * 1000),
        ...(sequence === undefined ? {} : { sequence }),
        data: { disconnectionReason: id },
      }),
    ),
  )
  .chain((events) =>
    fc
      .shuffledSubarray(events, { minLength: events.length, maxLength: events.length })
      .map((shuffled) => ({ inOrder: events, shuffled })),
  );

/** What must not depend on arrival order (bookkeeping fields aside). */
function finalState(call: CallSnapshot | undefined): Partial<CallSnapshot> | undefined {
  if (!call) return undefined;
  const { createdAt: _created, updatedAt: _updated, version: _version, ...state } = call;
  return state;
}

async function run(store: CallStore, events: readonly CallEvent[], tenantId: string) {
  const recording = createRecordingBus();
  let clock = t0;
  const tracker = createCallTracker({
    bus: recording.bus,
    store,
    clock: { now: () => (clock += 10) },
    logger: {},
  });
  for (const event of events) await tracker.ingest({ ...event, tenantId });
  return {
    call: finalState(await tracker.getCall(tenantId, 'CA-prop')),
    ends: recording.acceptedOf('call.ended').length,
    active: await tracker.countActiveCalls(tenantId),
  };
}

describe('createCallTracker (property)', () => {
  it('reaches the same final state and publishes call.ended once, for any order and duplication', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ inOrder, shuffled }) => {
        const expected = await run(createMemoryCallStore(), inOrder, 'tenant-a');
        const actual = await run(createMemoryCallStore(), shuffled, 'tenant-a');
        expect(actual.call).toEqual(expected.call);
        expect(actual.call?.active).toBe(false);
        expect(actual.ends).toBe(1);
        expect(actual.active).toEqual({ total: 0, byBranch: {} });
      }),
      { numRuns: 300 },
    );
  });
});

const positionOf = (event: CallEvent): CallPosition => ({
  at: Date.parse(event.occurredAt),
  eventId: event.id,
  ...(event.sequence === undefined ? {} : { sequence: event.sequence }),
});

/** A (sequence 1, +10 s), B (none, +5 s), C (sequence 2, +0 s): a cycle of the old order. */
const cycle = [
  { id: 'mix-a', sequence: 1, ms: 10_000 },
  { id: 'mix-b', ms: 5_000 },
  { id: 'mix-c', sequence: 2, ms: 0 },
].map(({ id, sequence, ms }) =>
  makeCallEvent({
    id,
    callId: 'CA-prop',
    type: 'call.machine_detection',
    status: undefined,
    occurredAt: isoAt(ms),
    ...(sequence === undefined ? {} : { sequence }),
    data: { disconnectionReason: id },
  }),
);

describe('createCallTracker, details of a mixed timeline (property)', () => {
  it('keeps the same detail whatever order events with and without a sequence arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(mixedTimelineArbitrary, async ({ inOrder, shuffled }) => {
        const expected = await run(createMemoryCallStore(), inOrder, 'tenant-a');
        const actual = await run(createMemoryCallStore(), shuffled, 'tenant-a');
        // The latest event by the timeline's order wins, wherever it arrived.
        const latest = [...inOrder].sort((a, b) =>
          compareCallPositions(positionOf(a), positionOf(b)),
        )[inOrder.length - 1];
        expect(actual.call?.disconnectionReason).toBe(latest?.id);
        expect(actual.call).toEqual(expected.call);
      }),
      {
        numRuns: 300,
        // The cycle of the old order, arriving newest first.
        examples: [[{ inOrder: cycle, shuffled: [...cycle].reverse() }]],
      },
    );
  });
});

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-prop');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('createCallTracker on Redis (property)', () => {
  it('reaches the same final state as the memory store, for any order and duplication', async () => {
    const store = createRedisCallStore({ redis: redis!, prefix });
    let run_ = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ inOrder, shuffled }) => {
        run_ += 1;
        const expected = await run(createMemoryCallStore(), inOrder, 'tenant-a');
        const actual = await run(store, shuffled, `tenant-${run_}`);
        expect(actual.call).toEqual({ ...expected.call, tenantId: `tenant-${run_}` });
        expect(actual.ends).toBe(1);
        expect(actual.active).toEqual({ total: 0, byBranch: {} });
      }),
      { numRuns: 40 },
    );
  });
});

describe.skipIf(!redis)(
  'createCallTracker on Redis, details of a mixed timeline (property)',
  () => {
    it('keeps the detail the memory store keeps, whatever order the events arrive in', async () => {
      const store = createRedisCallStore({ redis: redis!, prefix: `${prefix}:mixed` });
      let run_ = 0;
      await fc.assert(
        fc.asyncProperty(mixedTimelineArbitrary, async ({ inOrder, shuffled }) => {
          run_ += 1;
          const expected = await run(createMemoryCallStore(), inOrder, 'tenant-a');
          const actual = await run(store, shuffled, `tenant-${run_}`);
          expect(actual.call).toEqual({ ...expected.call, tenantId: `tenant-${run_}` });
        }),
        { numRuns: 60 },
      );
    });
  },
);

describe.skipIf(!redis)('createCallTracker on Redis with a Redis bus, one step (property)', () => {
  it('reaches the same final state, and the bus carries exactly one call.ended, for any order and duplication', async () => {
    const store = createRedisCallStore({ redis: redis!, prefix: `${prefix}:one-step:store` });
    const bus = createRedisBus({ redis: redis!, prefix: `${prefix}:one-step:bus` });
    let run_ = 0;
    await fc.assert(
      fc.asyncProperty(scenarioArbitrary, async ({ inOrder, shuffled }) => {
        run_ += 1;
        const tenantId = `tenant-${run_}`;
        const expected = await run(createMemoryCallStore(), inOrder, 'tenant-a');
        const reader = readBus(bus, tenantId);
        await reader.ready;
        let clock = t0;
        const tracker = createCallTracker({
          bus,
          store,
          clock: { now: () => (clock += 10) },
          logger: {},
        });
        for (const event of shuffled) await tracker.ingest({ ...event, tenantId });
        const published = await reader.drain();
        await reader.close();
        expect(finalState(await tracker.getCall(tenantId, 'CA-prop'))).toEqual({
          ...expected.call,
          tenantId,
        });
        expect(published.filter((event) => event.type === 'call.ended')).toHaveLength(1);
        // Each event id at most once on the bus, snapshots in version order.
        const ids = published.map((event) => event.id);
        expect(new Set(ids).size).toBe(ids.length);
        const versions = published.map((event) => event.data.call?.version ?? -1);
        expect(versions).toEqual([...versions].sort((a, b) => a - b));
        expect(new Set(versions).size).toBe(versions.length);
        expect(await tracker.countActiveCalls(tenantId)).toEqual({ total: 0, byBranch: {} });
      }),
      { numRuns: 40 },
    );
    await bus.close();
  }, 60_000);
});

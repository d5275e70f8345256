import { createMemoryBus } from '@calltrack/bus';
import {
  type ActiveCallsReader,
  type CallEvent,
  type CallSnapshot,
  callSnapshotSchema,
  type EventSink,
  InvalidEventError,
  isSealedCallEvent,
  parseCallEvent,
  sealCallEvent,
  withCallSnapshot,
} from '@calltrack/core';
import {
  connectTestRedis,
  countEventValidations,
  deleteKeys,
  elapseRedisExpiry,
  uniquePrefix,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { createRecordingBus } from './__tests__/recording-bus';
import type { CallStore } from './call-store';
import type { CallTracker, CallTrackerOptions } from './call-tracker';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';
import { callLifecycle, isoAt, makeCallEvent, t0, testSettings } from './make-call-event';

// Core as it is, with its functions spied on, to count validations.
vi.mock(import('@calltrack/core'), { spy: true });
const validations = countEventValidations({ parseCallEvent, sealCallEvent, withCallSnapshot });

const minute = 60_000;
const hour = 60 * minute;

const redis = await connectTestRedis();
const redisPrefix = uniquePrefix('tracker');
let redisStores = 0;

/**
 * A store for one test, and a way to let `ms` pass on the store's own clock: the memory store
 * expires by the clock it is given, Redis by its own.
 */
interface TestStore {
  store: CallStore;
  elapse: (ms: number) => Promise<void>;
}

/** The stores the tests of store-dependent behaviour run on (Redis when one answers). */
const storeBackends: [name: string, makeStore: () => TestStore][] = [
  ['memory', () => ({ store: createMemoryCallStore(), elapse: async () => {} })],
];
if (redis) {
  storeBackends.push([
    'redis',
    () => {
      redisStores += 1;
      const prefix = `${redisPrefix}:${redisStores}`;
      return {
        store: createRedisCallStore({ redis, prefix }),
        elapse: (ms) => elapseRedisExpiry(redis, prefix, ms),
      };
    },
  ]);
}

/** A tracker on a recording memory bus with a clock the test moves. */
function setup(options: Partial<CallTrackerOptions> = {}) {
  const recording = createRecordingBus();
  const clock = { now: t0 };
  const tracker = createCallTracker({
    bus: recording.bus,
    clock: { now: () => clock.now },
    logger: {},
    ...options,
  });
  return { tracker, recording, clock };
}

async function ingestAll(
  tracker: ReturnType<typeof createCallTracker>,
  events: readonly CallEvent[],
): Promise<void> {
  for (const event of events) await tracker.ingest(event);
}

describe('createCallTracker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, redisPrefix);
    redis.disconnect();
  });

  describe('ingest', () => {
    it('is an EventSink: publishes each change with the call snapshot, keeping the event id', async () => {
      const { tracker, recording } = setup();
      const sink: EventSink = tracker;
      const [queued, ringing] = callLifecycle({ callId: 'CA-sink', branchId: 'north' });
      expect(await sink.publish(queued!)).toMatchObject({ duplicate: false, outcome: 'changed' });
      const result = await tracker.ingest(ringing!);
      expect(result).toMatchObject({ outcome: 'changed', published: true, duplicate: false });
      expect(recording.accepted.map((event) => event.id)).toEqual([queued!.id, ringing!.id]);
      const published = recording.accepted[1]!;
      expect(published).toMatchObject({
        ...ringing,
        data: { call: { status: 'ringing', version: 2 } },
      });
      expect(published.data.call).toEqual(result.call);
    });

    it("is core's ActiveCallsReader, and its snapshots are core's CallSnapshot", async () => {
      expectTypeOf<CallTracker>().toExtend<ActiveCallsReader>();
      const { tracker } = setup();
      const reader: ActiveCallsReader = tracker;
      await ingestAll(
        tracker,
        callLifecycle({ callId: 'CA-reader', branchId: 'north' }).slice(0, 2),
      );
      const calls = await reader.listActiveCalls('tenant-a', { branchId: 'north', limit: 5 });
      expectTypeOf(calls).toEqualTypeOf<CallSnapshot[]>();
      expect(calls.map((call) => callSnapshotSchema.parse(call))).toEqual(calls);
      expect(await reader.listActiveCallsAcrossTenants({ limit: 5 })).toEqual(calls);
      expect(await reader.getCall('tenant-a', 'CA-reader')).toEqual(calls[0]);
      expect(await reader.getCall('tenant-b', 'CA-reader')).toBeUndefined();
    });

    it('validates each event once, and publishes it sealed with the snapshot added', async () => {
      const published: CallEvent[] = [];
      // A sink that validates nothing, so every validation counted is the tracker's.
      const tracker = createCallTracker({
        bus: {
          publish: async (event) => {
            published.push(event);
            return { duplicate: false };
          },
        },
        clock: { now: () => t0 },
        logger: {},
      });
      const events = callLifecycle({ callId: 'CA-valid-once' });
      validations.clear();
      const results = [];
      for (const event of events) results.push(await tracker.ingest(event));
      expect(validations.count()).toBe(events.length);
      // Events sealed already (as the provider handlers hand them over) are not validated.
      const sealed = callLifecycle({ callId: 'CA-sealed' }).map((event) => sealCallEvent(event));
      validations.clear();
      for (const event of sealed) await tracker.ingest(event);
      expect(validations.count()).toBe(0);
      expect(published).toHaveLength(2 * events.length);
      for (const [index, event] of published.slice(0, events.length).entries()) {
        expect(isSealedCallEvent(event)).toBe(true);
        expect(event).not.toBe(events[index]);
        expect(event).toEqual({
          ...events[index],
          data: { ...events[index]!.data, call: results[index]!.call },
        });
      }
      // The caller's events are left as they were.
      for (const event of events) {
        expect(event.data).not.toHaveProperty('call');
        expect(Object.isFrozen(event)).toBe(false);
      }
    });

    it('delivers through a real bus subscription', async () => {
      const bus = createMemoryBus();
      const tracker = createCallTracker({ bus, clock: { now: () => t0 }, logger: {} });
      const subscription = bus.subscribe({ tenantId: 'tenant-a', types: ['call.ended'] });
      await subscription.ready;
      await ingestAll(tracker, callLifecycle({ callId: 'CA-sub' }));
      const next = await subscription.next();
      expect(next.value).toMatchObject({
        type: 'event',
        event: {
          type: 'call.ended',
          callId: 'CA-sub',
          data: { call: { status: 'completed', active: false } },
        },
      });
      await bus.close();
    });

    it('drops duplicates and does not fan out a late status as a change', async () => {
      const { tracker, recording } = setup();
      const [queued, ringing, answered, ended] = callLifecycle({ callId: 'CA-late' });
      await ingestAll(tracker, [queued!, answered!, ended!]);
      expect(await tracker.ingest(ended!)).toMatchObject({
        outcome: 'duplicate',
        duplicate: true,
        published: false,
      });
      const late = await tracker.ingest(ringing!);
      expect(late).toMatchObject({ outcome: 'ignored', duplicate: false, published: false });
      expect(late.call?.status).toBe('completed');
      expect(recording.accepted.map((event) => event.type)).toEqual([
        'call.initiated',
        'call.answered',
        'call.ended',
      ]);
    });

    it('publishes call.ended exactly once: retries, a second provider and the reaper all lose', async () => {
      const { tracker, recording, clock } = setup();
      const [queued, , answered, ended, recording1, analyzed] = callLifecycle({ callId: 'CA-one' });
      await ingestAll(tracker, [queued!, answered!, ended!, ended!]);
      await tracker.ingest({
        ...ended!,
        id: 'retell:CA-one:ended',
        provider: 'retell',
        status: 'failed',
      });
      clock.now += 2 * hour;
      expect(await tracker.reapStaleCalls()).toEqual([]);
      await ingestAll(tracker, [recording1!, analyzed!, ended!]);
      expect(recording.acceptedOf('call.ended', 'CA-one')).toHaveLength(1);
      expect(recording.acceptedOf('call.analyzed', 'CA-one')[0]?.data.call).toMatchObject({
        status: 'completed',
        analysis: { summary: 'The caller asked about opening hours.' },
        recordingUrl: 'https://api.example.com/CA-one.mp3',
      });
    });

    it('forwards events it does not track to the bus unchanged', async () => {
      const { tracker, recording } = setup();
      const alert = makeCallEvent({ type: 'alert.custom', callId: undefined, status: undefined });
      expect(await tracker.ingest(alert)).toEqual({
        outcome: 'forwarded',
        duplicate: false,
        published: true,
      });
      expect(await tracker.ingest(alert)).toEqual({
        outcome: 'forwarded',
        duplicate: true,
        published: false,
      });
      expect(recording.accepted).toEqual([alert]);
    });

    it('rejects bad input with a clear error and publishes nothing', async () => {
      const { tracker, recording } = setup();
      const invalid = await tracker
        .ingest({ ...makeCallEvent(), status: 'answered' } as never)
        .catch((error: unknown) => error);
      expect(InvalidEventError.isInstance(invalid)).toBe(true);
      expect((invalid as InvalidEventError).field).toBe('status');
      const contradictory = await tracker
        .ingest(makeCallEvent({ type: 'call.ended', status: 'ringing' }))
        .catch((error: unknown) => error);
      expect(InvalidEventError.isInstance(contradictory)).toBe(true);
      expect((contradictory as InvalidEventError).field).toBe('status');
      expect((contradictory as Error).message).toMatch(/terminal status/);
      expect(recording.attempts).toEqual([]);
      expect(() => createCallTracker({} as never)).toThrowError(/bus/);
      expect(() => createCallTracker({ bus: createMemoryBus(), staleAfterMs: -1 })).toThrowError(
        /staleAfterMs/,
      );
      expect(() =>
        createCallTracker({ bus: createMemoryBus(), staleCallStatus: 'busy' as never }),
      ).toThrowError(/staleCallStatus/);
    });
  });

  describe('when the bus fails', () => {
    it('publishes a call.ended again when the provider retries it, exactly once in the end', async () => {
      const { tracker, recording } = setup();
      const [queued, , , ended] = callLifecycle({ callId: 'CA-retry' });
      await tracker.ingest(queued!);
      recording.failWhen = (event) => event.type === 'call.ended';
      await expect(tracker.ingest(ended!)).rejects.toThrowError(/bus is down/);
      expect(await tracker.getCall('tenant-a', 'CA-retry')).toMatchObject({ status: 'completed' });
      recording.failWhen = () => false;
      const retry = await tracker.ingest(ended!);
      expect(retry).toMatchObject({ outcome: 'unpublished', published: true, duplicate: true });
      expect(await tracker.ingest(ended!)).toMatchObject({
        outcome: 'duplicate',
        published: false,
      });
      expect(recording.acceptedOf('call.ended', 'CA-retry')).toHaveLength(1);
    });

    it('publishes it from the outbox when no retry comes, once the lease ran out', async () => {
      const { tracker, recording, clock } = setup();
      const [queued, , , ended] = callLifecycle({ callId: 'CA-outbox' });
      await tracker.ingest(queued!);
      recording.failWhen = (event) => event.type === 'call.ended';
      await expect(tracker.ingest(ended!)).rejects.toThrowError();
      recording.failWhen = () => false;
      expect(await tracker.runMaintenance()).toMatchObject({ republished: 1 });
      expect(await tracker.runMaintenance()).toMatchObject({ republished: 0 });
      expect(recording.acceptedOf('call.ended', 'CA-outbox')).toHaveLength(1);
      clock.now += testSettings.publishLeaseMs * 10;
      expect(await tracker.runMaintenance()).toMatchObject({ republished: 0 });
    });

    it('survives a crash between the store write and the publish', async () => {
      const store = createMemoryCallStore();
      const first = setup({ store });
      const [queued, , , ended] = callLifecycle({ callId: 'CA-crash' });
      await first.tracker.ingest(queued!);
      // The process dies after the store recorded the end: nothing reached the bus.
      first.recording.failWhen = () => true;
      const markFailed = vi.spyOn(store, 'markPublishFailed').mockRejectedValue(new Error('gone'));
      await expect(first.tracker.ingest(ended!)).rejects.toThrowError();
      markFailed.mockRestore();
      // A new process (same store, new bus), and the provider retries a little later.
      const second = setup({ store });
      second.clock.now = t0 + 5000;
      expect(await second.tracker.ingest(ended!)).toMatchObject({ outcome: 'duplicate' });
      second.clock.now = t0 + testSettings.publishLeaseMs + 1;
      expect(await second.tracker.ingest(ended!)).toMatchObject({
        outcome: 'unpublished',
        published: true,
      });
      expect(second.recording.acceptedOf('call.ended', 'CA-crash')).toHaveLength(1);
    });
  });

  describe('queries', () => {
    it('lists, counts and reads calls per tenant; other tenants see nothing', async () => {
      const { tracker } = setup();
      await tracker.ingest(callLifecycle({ callId: 'CA-q1', branchId: 'north' })[0]!);
      await tracker.ingest(
        callLifecycle({ callId: 'CA-q2', branchId: 'south', startMs: 1000 })[0]!,
      );
      await tracker.ingest(
        callLifecycle({ callId: 'CA-q3', tenantId: 'tenant-b', startMs: 2000 })[0]!,
      );
      expect((await tracker.listActiveCalls('tenant-a')).map((call) => call.callId)).toEqual([
        'CA-q2',
        'CA-q1',
      ]);
      expect(
        (await tracker.listActiveCalls('tenant-a', { branchId: 'north' })).map(
          (call) => call.callId,
        ),
      ).toEqual(['CA-q1']);
      expect(await tracker.countActiveCalls('tenant-a')).toEqual({
        total: 2,
        byBranch: { north: 1, south: 1 },
      });
      expect(await tracker.getCall('tenant-a', 'CA-q1')).toMatchObject({ status: 'queued' });
      expect(await tracker.getCall('tenant-b', 'CA-q1')).toBeUndefined();
      expect((await tracker.listActiveCallsAcrossTenants()).map((call) => call.callId)).toEqual([
        'CA-q3',
        'CA-q2',
        'CA-q1',
      ]);
      expect(await tracker.countActiveCallsAcrossTenants()).toEqual({
        total: 3,
        byTenant: { 'tenant-a': 2, 'tenant-b': 1 },
      });
      // A tenant id is any text without whitespace or braces: "__proto__" is counted too.
      await tracker.ingest(
        callLifecycle({ callId: 'CA-q4', tenantId: '__proto__', startMs: 3000 })[0]!,
      );
      expect(JSON.parse(JSON.stringify(await tracker.countActiveCallsAcrossTenants()))).toEqual({
        total: 4,
        byTenant: JSON.parse('{"tenant-a":2,"tenant-b":1,"__proto__":1}'),
      });
      await expect(tracker.listActiveCalls('bad tenant')).rejects.toThrowError(/tenantId/);
      await expect(tracker.listActiveCalls('tenant-a', { limit: 0 })).rejects.toThrowError(/limit/);
      await expect(tracker.getCall('tenant-a', '')).rejects.toThrowError(/callId/);
    });

    it('pages through active calls after the last call of a page, ties at its edge included', async () => {
      const { tracker } = setup();
      for (let index = 0; index < 7; index += 1) {
        // Two to a start: each page of 3 ends between two calls of one start.
        await tracker.ingest(
          callLifecycle({ callId: `CA-pg${index}`, startMs: 1000 * Math.floor(index / 2) })[0]!,
        );
      }
      const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
      const first = await tracker.listActiveCalls('tenant-a', { limit: 3 });
      expect(ids(first)).toEqual(['CA-pg6', 'CA-pg5', 'CA-pg4']);
      const second = await tracker.listActiveCalls('tenant-a', { limit: 3, after: first.at(-1)! });
      expect(ids(second)).toEqual(['CA-pg3', 'CA-pg2', 'CA-pg1']);
      const last = second.at(-1)!;
      expect(
        ids(
          await tracker.listActiveCalls('tenant-a', {
            after: { callId: last.callId, startedAt: last.startedAt! },
          }),
        ),
      ).toEqual(['CA-pg0']);
      for (const after of [
        { callId: '' },
        { callId: 'CA-pg1', startedAt: 'yesterday' },
        { callId: 'CA-pg1', startedAt: 5 },
        null,
      ]) {
        await expect(
          tracker.listActiveCalls('tenant-a', { after: after as never }),
        ).rejects.toThrowError(/after must be a call/);
      }
    });

    it("lists one user's active calls, also from a store that does not know the filter", async () => {
      const { tracker } = setup();
      await tracker.ingest(callLifecycle({ callId: 'CA-a1', agentId: 'agent-1' })[0]!);
      await tracker.ingest(
        callLifecycle({ callId: 'CA-a2', agentId: 'agent-2', startMs: 1000 })[0]!,
      );
      await tracker.ingest({
        ...callLifecycle({ callId: 'CA-a3', startMs: 2000 })[0]!,
        userId: 'agent-1',
      });
      const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
      expect(ids(await tracker.listActiveCalls('tenant-a', { userId: 'agent-1' }))).toEqual([
        'CA-a3',
        'CA-a1',
      ]);
      await expect(tracker.listActiveCalls('tenant-a', { userId: '' })).rejects.toThrowError(
        /userId/,
      );
      // A store written before the filter answers every call: only the user's go out.
      const store = createMemoryCallStore();
      const older = createCallTracker({
        bus: createMemoryBus(),
        store: {
          ...store,
          listActiveCalls: (tenantId, { userId: _userId, ...query }) =>
            store.listActiveCalls(tenantId, query),
        },
        clock: { now: () => t0 },
        logger: {},
      });
      await older.ingest(callLifecycle({ callId: 'CA-o1', agentId: 'agent-1' })[0]!);
      await older.ingest(callLifecycle({ callId: 'CA-o2', agentId: 'agent-2' })[0]!);
      expect(ids(await older.listActiveCalls('tenant-a', { userId: 'agent-2' }))).toEqual([
        'CA-o2',
      ]);
    });

    it('lists recently ended calls, the latest first, and leaves active ones out', async () => {
      const { tracker, clock } = setup();
      for (const callId of ['CA-r1', 'CA-r2', 'CA-r3']) {
        for (const event of callLifecycle({
          callId,
          branchId: callId === 'CA-r2' ? 'south' : 'north',
        })) {
          await tracker.ingest(event);
        }
        clock.now += 1000;
      }
      await tracker.ingest(callLifecycle({ callId: 'CA-r4' })[0]!);
      const ids = (calls: { callId: string }[]) => calls.map((call) => call.callId);
      expect(ids(await tracker.listRecentCalls('tenant-a'))).toEqual(['CA-r3', 'CA-r2', 'CA-r1']);
      expect(
        ids(await tracker.listRecentCalls('tenant-a', { branchId: 'north', limit: 1 })),
      ).toEqual(['CA-r3']);
      expect(await tracker.listRecentCalls('tenant-b')).toEqual([]);
      const [latest] = await tracker.listRecentCalls('tenant-a');
      expect(latest).toMatchObject({ status: 'completed', active: false, durationMs: 60_000 });
      await expect(tracker.listRecentCalls('bad tenant')).rejects.toThrowError(/tenantId/);
      await expect(tracker.listRecentCalls('tenant-a', { limit: 1001 })).rejects.toThrowError(
        /limit/,
      );
      await expect(tracker.listRecentCalls('tenant-a', { branchId: '' })).rejects.toThrowError(
        /branchId/,
      );
    });

    it('reads an ended call as gone once endedCallRetentionMs passed, with nothing else happening', async () => {
      const { tracker, clock } = setup({ endedCallRetentionMs: 60_000 });
      await ingestAll(tracker, callLifecycle({ callId: 'CA-done' }));
      clock.now += 59_999;
      expect(await tracker.getCall('tenant-a', 'CA-done')).toMatchObject({ status: 'completed' });
      expect((await tracker.listRecentCalls('tenant-a')).length).toBe(1);
      clock.now += 1;
      expect(await tracker.getCall('tenant-a', 'CA-done')).toBeUndefined();
      expect(await tracker.listRecentCalls('tenant-a')).toEqual([]);
    });
  });

  describe('stale reaper', () => {
    it('closes unanswered calls with no change for an hour as failed, reason stale, once', async () => {
      const { tracker, recording, clock } = setup();
      const [queued, ringing] = callLifecycle({ callId: 'CA-stale', agentId: 'agent-1' });
      await ingestAll(tracker, [queued!, ringing!]);
      clock.now = t0 + 30 * minute;
      await tracker.ingest(callLifecycle({ callId: 'CA-fresh', startMs: 30 * minute })[0]!);
      clock.now = t0 + hour;
      expect(await tracker.reapStaleCalls()).toEqual([]);
      clock.now = t0 + hour + 1;
      const reaped = await tracker.reapStaleCalls();
      expect(reaped.map((call) => call.callId)).toEqual(['CA-stale']);
      expect(reaped[0]).toMatchObject({
        status: 'failed',
        reason: 'stale',
        active: false,
        endedAt: isoAt(0),
      });
      const [end] = recording.acceptedOf('call.ended', 'CA-stale');
      expect(end).toMatchObject({
        id: 'calltrack:CA-stale:stale',
        provider: 'calltrack',
        status: 'failed',
        agentId: 'agent-1',
        data: { reason: 'stale', lastUpdateAt: isoAt(0) },
      });
      expect(await tracker.reapStaleCalls()).toEqual([]);
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 1 });
    });

    it('is safe when every process reaps at once: one wins per call', async () => {
      const store = createMemoryCallStore();
      const recording = createRecordingBus();
      const trackers = Array.from({ length: 3 }, () =>
        createCallTracker({ bus: recording.bus, store, clock: { now: () => t0 }, logger: {} }),
      );
      for (const index of [1, 2, 3, 4])
        await trackers[0]!.ingest(callLifecycle({ callId: `CA-r${index}` })[0]!);
      const results = await Promise.all(
        trackers.map((tracker) => tracker.reapStaleCalls(t0 + 2 * hour)),
      );
      expect(
        results
          .flat()
          .map((call) => call.callId)
          .sort(),
      ).toEqual(['CA-r1', 'CA-r2', 'CA-r3', 'CA-r4']);
      expect(recording.acceptedOf('call.ended')).toHaveLength(4);
    });

    it('does not reap a call whose event arrived in between', async () => {
      const { tracker, recording, clock } = setup({
        staleAfterMs: 10 * minute,
        staleCallStatus: 'canceled',
      });
      const [queued, ringing] = callLifecycle({ callId: 'CA-between' });
      await tracker.ingest(queued!);
      clock.now = t0 + 11 * minute;
      await tracker.ingest(ringing!);
      expect(await tracker.reapStaleCalls()).toEqual([]);
      clock.now = t0 + 22 * minute;
      expect((await tracker.reapStaleCalls())[0]).toMatchObject({ status: 'canceled' });
      expect(recording.acceptedOf('call.ended')).toHaveLength(1);
    });

    it('runs on an unref()ed timer between start() and stop()', async () => {
      vi.useFakeTimers({ now: t0 });
      const recording = createRecordingBus();
      const tracker = createCallTracker({
        bus: recording.bus,
        maintenanceIntervalMs: minute,
        logger: {},
      });
      await tracker.ingest(callLifecycle({ callId: 'CA-timer' })[0]!);
      const setInterval = vi.spyOn(globalThis, 'setInterval');
      tracker.start();
      tracker.start();
      expect(setInterval).toHaveBeenCalledTimes(1);
      const timer = setInterval.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      await vi.advanceTimersByTimeAsync(hour + minute);
      expect(recording.acceptedOf('call.ended', 'CA-timer')).toHaveLength(1);
      await tracker.stop();
      await tracker.ingest(callLifecycle({ callId: 'CA-timer2', startMs: hour + minute })[0]!);
      await vi.advanceTimersByTimeAsync(3 * hour);
      expect(recording.acceptedOf('call.ended', 'CA-timer2')).toHaveLength(0);
    });
  });

  describe('analytics', () => {
    it('reports average duration, peak concurrency, capacity and agent utilization per bucket', async () => {
      const { tracker, clock } = setup({ analytics: { capacity: 4 } });
      const calls = [
        callLifecycle({ callId: 'CA-x1', agentId: 'agent-1', talkMs: 20 * minute }),
        callLifecycle({
          callId: 'CA-x2',
          agentId: 'agent-2',
          talkMs: 10 * minute,
          startMs: minute,
        }),
        callLifecycle({ callId: 'CA-x3', startMs: 2 * minute, endStatus: 'failed' }),
      ];
      for (const [index, events] of calls.entries()) {
        clock.now = t0 + index * minute;
        await tracker.ingest(events[0]!);
      }
      clock.now = t0 + 3 * minute;
      await tracker.ingest({ ...calls[2]![3]!, data: {} });
      clock.now = t0 + 11 * minute;
      await ingestAll(tracker, [calls[1]![2]!, calls[1]![3]!]);
      clock.now = t0 + 25 * minute;
      await ingestAll(tracker, [calls[0]![2]!, calls[0]![3]!]);
      clock.now = t0 + 2 * hour;
      const byHour = await tracker.getAnalytics('tenant-a', {
        from: t0 - hour,
        to: t0 + 2 * hour,
        granularity: 'hour',
      });
      expect(byHour.buckets).toHaveLength(3);
      expect(byHour.buckets[0]).toMatchObject({
        start: isoAt(-hour),
        endedCalls: 0,
        peakConcurrentCalls: 0,
      });
      expect(byHour.buckets[1]).toMatchObject({
        start: isoAt(0),
        startedCalls: 3,
        endedCalls: 3,
        answeredCalls: 2,
        endedByStatus: { completed: 2, failed: 1 },
        failedRate: 1 / 3,
        averageDurationMs: 15 * minute,
        peakConcurrentCalls: 3,
        capacityUtilization: 0.75,
        agentTalkMs: 30 * minute,
        activeAgents: 2,
        agentUtilization: 0.25,
      });
      expect(byHour.totals).toMatchObject({
        endedCalls: 3,
        peakConcurrentCalls: 3,
        averageDurationMs: 15 * minute,
      });
      const byDay = await tracker.getAnalytics('tenant-a', { from: isoAt(0), granularity: 'day' });
      expect(byDay.buckets).toHaveLength(1);
      expect(byDay.totals).toMatchObject({
        startedCalls: 3,
        endedCalls: 3,
        peakConcurrentCalls: 3,
      });
    });

    it('carries the concurrency level into buckets without changes', async () => {
      const { tracker, clock } = setup();
      await tracker.ingest(callLifecycle({ callId: 'CA-long' })[0]!);
      await tracker.ingest(callLifecycle({ callId: 'CA-long2' })[0]!);
      clock.now = t0 + 3 * hour;
      await tracker.ingest(callLifecycle({ callId: 'CA-long', startMs: 0 })[2]!);
      clock.now = t0 + 5 * hour + 1;
      const analytics = await tracker.getAnalytics('tenant-a', {
        from: t0 + hour,
        to: t0 + 4 * hour,
      });
      expect(analytics.buckets.map((bucket) => bucket.peakConcurrentCalls)).toEqual([2, 2, 2]);
      expect(analytics.capacity).toBeNull();
    });

    it('rejects ranges it cannot answer', async () => {
      const { tracker } = setup();
      await expect(tracker.getAnalytics('tenant-a', { from: 'yesterday' })).rejects.toThrowError(
        /from/,
      );
      await expect(tracker.getAnalytics('tenant-a', { from: t0, to: t0 - 1 })).rejects.toThrowError(
        /before/,
      );
      await expect(
        tracker.getAnalytics('tenant-a', { from: 0, granularity: 'minute' }),
      ).rejects.toThrowError(/buckets/);
      await expect(
        tracker.getAnalytics('tenant-a', { from: t0, granularity: 'week' as never }),
      ).rejects.toThrowError(/granularity/);
    });
  });

  describe('alerts', () => {
    it('alerts once per cooldown when a tenant has too many concurrent calls', async () => {
      const { tracker, recording, clock } = setup({
        alerts: { maxConcurrentCalls: 2, cooldownMs: 10 * minute },
      });
      for (const index of [1, 2, 3, 4])
        await tracker.ingest(callLifecycle({ callId: `CA-k${index}` })[0]!);
      const alerts = recording.acceptedOf('alert.concurrency_exceeded');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({
        tenantId: 'tenant-a',
        provider: 'calltrack',
        data: { rule: 'concurrency_exceeded', value: 3, threshold: 2 },
      });
      expect(alerts[0]?.callId).toBeUndefined();
      expect(alerts[0]?.id).toBe(
        `calltrack:alert:tenant-a:concurrency_exceeded:${Math.floor(t0 / (10 * minute))}`,
      );
      clock.now = t0 + 10 * minute;
      await tracker.ingest(callLifecycle({ callId: 'CA-k5' })[0]!);
      expect(recording.acceptedOf('alert.concurrency_exceeded')).toHaveLength(2);
    });

    it('alerts once for a call active longer than the limit', async () => {
      const { tracker, recording, clock } = setup({
        alerts: { longCallMs: 30 * minute },
        staleAfterMs: 10 * hour,
      });
      await tracker.ingest(callLifecycle({ callId: 'CA-talk' })[0]!);
      await tracker.ingest(callLifecycle({ callId: 'CA-short', startMs: 20 * minute })[0]!);
      clock.now = t0 + 31 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 1 });
      clock.now = t0 + 90 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 1 });
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 0 });
      expect(recording.acceptedOf('alert.long_call').map((event) => event.callId)).toEqual([
        'CA-talk',
        'CA-short',
      ]);
      expect(recording.acceptedOf('alert.long_call')[0]?.data).toMatchObject({
        rule: 'long_call',
        threshold: 30 * minute,
      });
    });

    it('alerts when the failed-call rate over the window crosses the threshold', async () => {
      const { tracker, recording, clock } = setup({
        alerts: { failedCallRate: { threshold: 0.5, windowMs: 10 * minute, minCalls: 4 } },
      });
      const end = async (index: number, status: 'completed' | 'failed') => {
        const events = callLifecycle({ callId: `CA-f${index}`, endStatus: status });
        await ingestAll(tracker, [events[0]!, events[3]!]);
      };
      await end(1, 'failed');
      await end(2, 'failed');
      await end(3, 'failed');
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(0);
      await end(4, 'completed');
      const [alert] = recording.acceptedOf('alert.failed_call_rate');
      expect(alert?.data).toMatchObject({
        value: 0.75,
        threshold: 0.5,
        failedCalls: 3,
        endedCalls: 4,
      });
      await end(5, 'failed');
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(1);
      clock.now = t0 + 11 * minute;
      await end(6, 'failed');
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(1);
    });

    it('asks the app whether an agent is available, and survives a hook that throws', async () => {
      const errors: unknown[] = [];
      const answers = [false, false];
      const { tracker, recording } = setup({
        logger: { error: (message, context) => errors.push({ message, context }) },
        alerts: {
          isAgentAvailable: ({ branchId }) => {
            if (branchId === 'broken') throw new Error('roster down');
            return answers.shift() ?? true;
          },
        },
      });
      await tracker.ingest(callLifecycle({ callId: 'CA-n1', branchId: 'north' })[0]!);
      await tracker.ingest(callLifecycle({ callId: 'CA-n2', branchId: 'north' })[0]!);
      await tracker.ingest(callLifecycle({ callId: 'CA-n3', branchId: 'broken' })[0]!);
      const alerts = recording.acceptedOf('alert.no_agent_available');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ callId: 'CA-n1', branchId: 'north' });
      expect(errors).toHaveLength(1);
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 3 });
    });

    it('rejects rules that cannot work', () => {
      const bus = createMemoryBus();
      expect(() =>
        createCallTracker({ bus, alerts: { failedCallRate: { threshold: 2 } } }),
      ).toThrowError(/threshold/);
      expect(() => createCallTracker({ bus, alerts: { maxConcurrentCalls: -1 } })).toThrowError(
        /maxConcurrentCalls/,
      );
      expect(() =>
        createCallTracker({
          bus,
          alerts: { failedCallRate: { threshold: 0.1, windowMs: 2 * 86_400_000 } },
        }),
      ).toThrowError(/windowMs/);
    });
  });

  describe('logging', () => {
    it('never logs a phone number in clear', async () => {
      const lines: string[] = [];
      const log = (message: string, context?: Record<string, unknown>) =>
        lines.push(`${message} ${JSON.stringify(context)}`);
      const { tracker, recording, clock } = setup({
        logger: { debug: log, warn: log, error: log },
      });
      const [queued, , , ended] = callLifecycle({
        callId: 'CA-pii',
        from: '+14155550123',
        to: '+442071838750',
      });
      await tracker.ingest(queued!);
      recording.failWhen = () => true;
      await tracker
        .ingest({ ...ended!, data: { reason: 'caller +14155550123 hung up' } })
        .catch(() => {});
      recording.failWhen = () => false;
      clock.now += 2 * hour;
      await tracker.ingest(callLifecycle({ callId: 'CA-pii2', from: '+14155550123' })[0]!);
      clock.now += 2 * hour;
      await tracker.runMaintenance();
      expect(lines.length).toBeGreaterThan(3);
      const all = lines.join('\n');
      expect(all).not.toContain('4155550123');
      expect(all).not.toContain('2071838750');
    });

    it('goes on as if nothing happened when every method of the logger throws (README: "A logger that throws is ignored")', async () => {
      const calls: string[] = [];
      const throwing = (level: string) => () => {
        calls.push(level);
        throw new Error(`${level} logger is broken`);
      };
      const { tracker, recording, clock } = setup({
        logger: { debug: throwing('debug'), warn: throwing('warn'), error: throwing('error') },
      });
      const [queued, ringing, , ended] = callLifecycle({ callId: 'CA-log' });
      expect(await tracker.ingest(queued!)).toMatchObject({ outcome: 'changed', published: true });
      // A failed publish is logged at error, and the bus's failure (not the logger's) reaches the caller.
      recording.failWhen = () => true;
      await expect(tracker.ingest(ringing!)).rejects.not.toThrow(/logger is broken/);
      recording.failWhen = () => false;
      expect(await tracker.ingest(ringing!)).toMatchObject({ published: true });
      // A stale call is reaped and logged at warn.
      const [stale] = callLifecycle({ callId: 'CA-log-stale' });
      await tracker.ingest(stale!);
      clock.now += 2 * hour;
      const report = await tracker.runMaintenance();
      expect(report.reaped).toBe(2);
      expect(recording.acceptedOf('call.ended', 'CA-log-stale')).toHaveLength(1);
      expect(await tracker.ingest(ended!)).toMatchObject({ outcome: 'ignored' });
      expect(new Set(calls)).toEqual(new Set(['debug', 'warn', 'error']));
    });

    it('sends errors to console.warn by default, and nothing else (README: the default logger)', async () => {
      const warned: unknown[][] = [];
      const logged: unknown[][] = [];
      const spies = [
        vi.spyOn(console, 'warn').mockImplementation((...args) => void warned.push(args)),
        ...(['log', 'info', 'debug', 'error'] as const).map((level) =>
          vi.spyOn(console, level).mockImplementation((...args) => void logged.push(args)),
        ),
      ];
      try {
        const recording = createRecordingBus();
        const clock = { now: t0 };
        const tracker = createCallTracker({ bus: recording.bus, clock: { now: () => clock.now } });
        const [queued] = callLifecycle({ callId: 'CA-default-log' });
        await tracker.ingest(queued!); // debug: its outcome
        clock.now += 2 * hour;
        await tracker.runMaintenance(); // warn: a reaped call
        expect(warned).toEqual([]);
        recording.failWhen = () => true;
        const [other] = callLifecycle({ callId: 'CA-default-log-2', startMs: 2 * hour });
        await expect(tracker.ingest(other!)).rejects.toThrow(); // error: the publish failed
        expect(warned.length).toBeGreaterThan(0);
        expect(String(warned[0]![0])).toMatch(/^\[calltrack\/tracker\] /);
        expect(logged).toEqual([]);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    });
  });

  describe.each(storeBackends)(
    'events older than the retention on the %s store',
    (_b, makeStore) => {
      const day = 24 * hour;

      /** The recording event of a call's lifecycle, given its `call.ended`. */
      const recordingOf = (ended: CallEvent): CallEvent => ({
        ...ended,
        id: `${ended.id}:recording`,
        type: 'call.recording',
        status: undefined,
        sequence: undefined,
        data: { recordingUrl: 'https://api.example.com/RE1.mp3' },
      });

      /** A tracker whose store, bus history and clock all move with `clock.now`. */
      function setupForgetting() {
        const { store, elapse } = makeStore();
        const clock = { now: t0 };
        const recording = createRecordingBus(createMemoryBus({ clock: { now: () => clock.now } }));
        const warnings: [string, Record<string, unknown> | undefined][] = [];
        const tracker = createCallTracker({
          bus: recording.bus,
          store,
          clock: { now: () => clock.now },
          logger: { warn: (message, context) => warnings.push([message, context]) },
        });
        const pass = async (ms: number) => {
          clock.now += ms;
          await elapse(ms);
        };
        return { tracker, recording, clock, warnings, pass };
      }

      it('does not revive or count again a forgotten call when its signed webhooks are replayed', async () => {
        const { tracker, recording, clock, warnings, pass } = setupForgetting();
        const [, ringing, , completed] = callLifecycle({ callId: 'CA-replayed' });
        clock.now = Date.parse(ringing!.receivedAt);
        await tracker.ingest(ringing!);
        await pass(Date.parse(completed!.receivedAt) - clock.now);
        await tracker.ingest(completed!);
        // A day and a minute later the ended call is forgotten (endedCallRetentionMs; the
        // memory store forgets it at its next change).
        await pass(day + minute);
        const range = { from: t0, to: clock.now + hour, granularity: 'hour' } as const;
        const before = await tracker.getAnalytics('tenant-a', range);
        expect(before.totals).toMatchObject({ startedCalls: 1, endedCalls: 1 });
        const published = recording.accepted.length;
        const kept = await tracker.getCall('tenant-a', 'CA-replayed');

        // Replayed as they were signed: the tracker cannot tell them from replays, and drops them.
        const expired = { outcome: 'expired', duplicate: true, published: false };
        expect(await tracker.ingest(ringing!)).toEqual(expired);
        expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 0 });
        expect(await tracker.ingest(completed!)).toEqual(expired);
        expect(await tracker.getCall('tenant-a', 'CA-replayed')).toEqual(kept);
        expect(recording.accepted).toHaveLength(published);
        expect((await tracker.getAnalytics('tenant-a', range)).totals).toEqual(before.totals);
        // A replayed webhook with no time of its own (Twilio's recording callback: received
        // now) makes the call known again, as a call with no status; the old ones still do not
        // revive it.
        const now = new Date(clock.now).toISOString();
        const recorded = { ...recordingOf(completed!), occurredAt: now, receivedAt: now };
        expect(await tracker.ingest(recorded)).toMatchObject({ outcome: 'enriched' });
        expect(await tracker.ingest(ringing!)).toEqual(expired);
        expect(await tracker.ingest(completed!)).toEqual(expired);
        expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 0 });
        expect((await tracker.getAnalytics('tenant-a', range)).totals).toEqual(before.totals);
        const dropped = (event: CallEvent) => [
          expect.stringContaining('replay'),
          expect.objectContaining({ eventId: event.id, occurredAt: event.occurredAt }),
        ];
        expect(warnings).toEqual([
          dropped(ringing!),
          dropped(completed!),
          dropped(ringing!),
          dropped(completed!),
        ]);
      });

      it('applies an old event of a call it still knows, and a recent one of a call it does not', async () => {
        const { tracker, clock, warnings, pass } = setupForgetting();
        // A call active for longer than the retention: its old events still count.
        const [queued, ringing, answered, ended] = callLifecycle({ callId: 'CA-known' });
        clock.now = t0;
        await tracker.ingest(queued!);
        await pass(day + hour);
        await tracker.ingest({ ...answered!, occurredAt: isoAt(day), receivedAt: isoAt(day) });
        expect(await tracker.ingest(ringing!)).toMatchObject({ outcome: 'ignored' });
        expect(await tracker.ingest(ended!)).toMatchObject({ outcome: 'ended', published: true });
        // A call never seen, whose event is within the retention (a late webhook): tracked.
        const [late] = callLifecycle({ callId: 'CA-late', startMs: hour });
        expect(await tracker.ingest(late!)).toMatchObject({ outcome: 'changed', published: true });
        // Exactly at the edge of the retention, still tracked.
        const edge = callLifecycle({ callId: 'CA-edge', startMs: clock.now - t0 - day })[0]!;
        expect(await tracker.ingest(edge)).toMatchObject({ outcome: 'changed' });
        expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 2 });
        expect(warnings).toEqual([]);
      });
    },
  );

  describe.each(storeBackends)(
    'analytics of a late answer on the %s store',
    (_backend, makeStore) => {
      it('counts an end without a duration whose call.answered comes after it as not answered, with no talk time (README)', async () => {
        const { store } = makeStore();
        const { tracker, clock } = setup({ store });
        const [queued, ringing, answered, ended] = callLifecycle({
          callId: 'CA-late-answer',
          agentId: 'agent-1',
          talkMs: 10 * minute,
        });
        await ingestAll(tracker, [queued!, ringing!]);
        clock.now = t0 + 11 * minute;
        await tracker.ingest({ ...ended!, data: {} }); // the end, with no duration
        await tracker.ingest(answered!); // then the answer
        const call = await tracker.getCall('tenant-a', 'CA-late-answer');
        expect(call).toMatchObject({ status: 'completed', answeredAt: answered!.occurredAt });
        expect(call?.durationMs).toBe(10 * minute);
        clock.now = t0 + hour;
        const { buckets } = await tracker.getAnalytics('tenant-a', {
          from: t0,
          to: t0 + hour,
          granularity: 'hour',
        });
        expect(buckets).toHaveLength(1);
        expect(buckets[0]).toMatchObject({
          startedCalls: 1,
          endedCalls: 1,
          answeredCalls: 0,
          endedByStatus: { completed: 1 },
          agentTalkMs: 0,
        });
      });
    },
  );

  describe.each(storeBackends)('stale reaper on the %s store', (_backend, makeStore) => {
    it('reaps calls on a clock with fractions of a millisecond', async () => {
      const { tracker, clock } = setup({ store: makeStore().store });
      clock.now = t0 + 0.25;
      await tracker.ingest(callLifecycle({ callId: 'CA-fraction' })[0]!);
      clock.now += 2 * hour + 0.5;
      const reaped = await tracker.reapStaleCalls();
      expect(reaped.map((call) => call.callId)).toEqual(['CA-fraction']);
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 0 });
      await tracker.ingest(callLifecycle({ callId: 'CA-fraction2', startMs: 2 * hour })[0]!);
      expect(await tracker.runMaintenance(clock.now + 2 * hour + 0.5)).toMatchObject({
        reaped: 1,
      });
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 0 });
    });
  });

  describe.each(storeBackends)('stale reaper and long calls on the %s store', (_b, makeStore) => {
    it('keeps an answered call for four hours: a 70-minute call ends as it really did', async () => {
      const { tracker, recording, clock } = setup({ store: makeStore().store });
      // Twilio and CallerDesk send nothing between the answer and the end.
      const [, ringing, answered, completed] = callLifecycle({
        callId: 'CA-long',
        talkMs: 70 * minute,
      });
      for (const event of [ringing!, answered!]) {
        clock.now = Date.parse(event.receivedAt);
        await tracker.ingest(event);
      }
      expect(await tracker.runMaintenance(t0 + 61 * minute)).toMatchObject({ reaped: 0 });
      clock.now = Date.parse(completed!.receivedAt);
      expect(await tracker.ingest(completed!)).toMatchObject({ outcome: 'ended', published: true });
      expect(await tracker.getCall('tenant-a', 'CA-long')).toMatchObject({
        status: 'completed',
        durationMs: 70 * minute,
      });
      expect(recording.acceptedOf('call.ended', 'CA-long').map((event) => event.id)).toEqual([
        completed!.id,
      ]);
      const range = { from: t0, to: t0 + 2 * hour, granularity: 'hour' } as const;
      expect((await tracker.getAnalytics('tenant-a', range)).totals).toMatchObject({
        answeredCalls: 1,
        failedRate: 0,
      });
    });

    it('reaps an unanswered call after staleAfterMs and an answered one after answeredStaleAfterMs', async () => {
      const { tracker, recording, clock } = setup({ store: makeStore().store });
      clock.now = t0;
      await tracker.ingest(callLifecycle({ callId: 'CA-ringing' })[1]!);
      const [, ringing, answered] = callLifecycle({ callId: 'CA-talking' });
      await ingestAll(tracker, [ringing!, answered!]);
      expect(await tracker.reapStaleCalls(t0 + hour)).toEqual([]);
      const early = await tracker.reapStaleCalls(t0 + hour + 1);
      expect(early.map((call) => call.callId)).toEqual(['CA-ringing']);
      expect(await tracker.reapStaleCalls(t0 + 4 * hour)).toEqual([]);
      const late = await tracker.reapStaleCalls(t0 + 4 * hour + 1);
      expect(late.map((call) => call.callId)).toEqual(['CA-talking']);
      expect(late[0]).toMatchObject({ status: 'failed', reason: 'stale', answeredAt: isoAt(5000) });
      expect(recording.acceptedOf('call.ended').map((event) => event.data)).toEqual([
        expect.objectContaining({ reason: 'stale', staleAfterMs: hour }),
        expect.objectContaining({ reason: 'stale', staleAfterMs: 4 * hour }),
      ]);
    });

    it('takes both timeouts from the options, the answered one at least staleAfterMs by default', async () => {
      const custom = setup({
        store: makeStore().store,
        staleAfterMs: 10 * minute,
        answeredStaleAfterMs: 30 * minute,
      });
      const longer = setup({ store: makeStore().store, staleAfterMs: 6 * hour });
      for (const { tracker, clock } of [custom, longer]) {
        clock.now = t0;
        const [, ringing, answered] = callLifecycle({ callId: 'CA-answered' });
        await ingestAll(tracker, [ringing!, answered!]);
      }
      expect(await custom.tracker.reapStaleCalls(t0 + 30 * minute)).toEqual([]);
      expect(await custom.tracker.reapStaleCalls(t0 + 30 * minute + 1)).toHaveLength(1);
      expect(await longer.tracker.reapStaleCalls(t0 + 6 * hour)).toEqual([]);
      expect(await longer.tracker.reapStaleCalls(t0 + 6 * hour + 1)).toHaveLength(1);
    });
  });

  describe.each(storeBackends)('alerts on the %s store', (_backend, makeStore) => {
    it('publishes a long-call alert whose first publish failed at a later maintenance, once', async () => {
      const { tracker, recording, clock } = setup({
        store: makeStore().store,
        alerts: { longCallMs: 30 * minute },
        staleAfterMs: 10 * hour,
      });
      await tracker.ingest(callLifecycle({ callId: 'CA-retry-long' })[0]!);
      clock.now = t0 + 31 * minute;
      recording.failWhen = (event) => event.type === 'alert.long_call';
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 0 });
      recording.failWhen = () => false;
      clock.now = t0 + 32 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 1 });
      clock.now = t0 + 33 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 0 });
      expect(recording.acceptedOf('alert.long_call', 'CA-retry-long')).toHaveLength(1);
    });

    it('runs the alert checks of an activation and of an end when their retry publishes them', async () => {
      const { tracker, recording } = setup({
        store: makeStore().store,
        alerts: {
          maxConcurrentCalls: 0,
          failedCallRate: { threshold: 0.5, windowMs: 10 * minute, minCalls: 1 },
        },
      });
      const [queued, , , ended] = callLifecycle({ callId: 'CA-late-checks', endStatus: 'failed' });
      recording.failWhen = (event) => event.type.startsWith('call.');
      await expect(tracker.ingest(queued!)).rejects.toThrowError(/bus is down/);
      recording.failWhen = () => false;
      expect(await tracker.ingest(queued!)).toMatchObject({ outcome: 'unpublished' });
      expect(recording.acceptedOf('alert.concurrency_exceeded')).toHaveLength(1);
      expect(recording.acceptedOf('alert.concurrency_exceeded')[0]?.data).toMatchObject({
        value: 1,
      });

      recording.failWhen = (event) => event.type === 'call.ended';
      await expect(tracker.ingest(ended!)).rejects.toThrowError(/bus is down/);
      recording.failWhen = () => false;
      expect(await tracker.ingest(ended!)).toMatchObject({ outcome: 'unpublished' });
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(1);
      // A later copy is a duplicate: no check runs twice.
      await tracker.ingest(queued!);
      await tracker.ingest(ended!);
      expect(recording.acceptedOf('alert.concurrency_exceeded')).toHaveLength(1);
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(1);
    });

    it('runs the checks of an end whose publish failed when the outbox publishes it', async () => {
      const { tracker, recording, clock } = setup({
        store: makeStore().store,
        alerts: { failedCallRate: { threshold: 0.5, windowMs: 10 * minute, minCalls: 1 } },
      });
      const [queued, , , ended] = callLifecycle({
        callId: 'CA-outbox-checks',
        endStatus: 'failed',
      });
      await tracker.ingest(queued!);
      recording.failWhen = (event) => event.type === 'call.ended';
      await expect(tracker.ingest(ended!)).rejects.toThrowError(/bus is down/);
      recording.failWhen = () => false;
      clock.now += minute;
      expect(await tracker.runMaintenance()).toMatchObject({ republished: 1, alerts: 1 });
      expect(recording.acceptedOf('alert.failed_call_rate')).toHaveLength(1);
    });

    it('reports a concurrency breach whose alert failed to publish at the next breaching call', async () => {
      const { tracker, recording } = setup({
        store: makeStore().store,
        alerts: { maxConcurrentCalls: 2, cooldownMs: 10 * minute },
      });
      for (const index of [1, 2])
        await tracker.ingest(callLifecycle({ callId: `CA-over${index}` })[0]!);
      recording.failWhen = (event) => event.type === 'alert.concurrency_exceeded';
      expect(await tracker.ingest(callLifecycle({ callId: 'CA-over3' })[0]!)).toMatchObject({
        published: true,
      });
      recording.failWhen = () => false;
      await tracker.ingest(callLifecycle({ callId: 'CA-over4' })[0]!);
      const alerts = recording.acceptedOf('alert.concurrency_exceeded');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]?.data).toMatchObject({ value: 4, threshold: 2 });
    });

    it('alerts a long call once however long it stays active, past every retention', async () => {
      const { store, elapse } = makeStore();
      // History too short to remember the alert: only the store keeps it from repeating.
      const recording = createRecordingBus(createMemoryBus({ history: { maxEvents: 5 } }));
      const clock = { now: t0 };
      const tracker = createCallTracker({
        bus: recording.bus,
        store,
        clock: { now: () => clock.now },
        logger: {},
        endedCallRetentionMs: 10 * minute,
        alerts: { longCallMs: 30 * minute },
      });
      const [queued] = callLifecycle({ callId: 'CA-marathon' });
      await tracker.ingest(queued!);
      for (let part = 1; part <= 12; part += 1) {
        clock.now += 10 * minute;
        await elapse(10 * minute);
        await tracker.ingest({
          id: `twilio:CA-marathon:transcript:${part}`,
          type: 'call.transcript',
          tenantId: 'tenant-a',
          provider: 'twilio',
          callId: 'CA-marathon',
          occurredAt: isoAt(part * 10 * minute),
          receivedAt: isoAt(part * 10 * minute),
          data: { transcript: `Part ${part} of a long conversation.` },
        });
        await tracker.runMaintenance();
      }
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 1 });
      expect(recording.acceptedOf('alert.long_call', 'CA-marathon')).toHaveLength(1);
    });

    it('alerts every long call of a tenant, more than a page of them', async () => {
      const { tracker, recording, clock } = setup({
        store: makeStore().store,
        alerts: { longCallMs: 30 * minute },
      });
      // Groups of 350 calls that started in the same second: pages of the store's list (500)
      // end inside a group.
      const count = 1100;
      for (let index = 0; index < count; index += 1) {
        const startMs = Math.floor(index / 350) * 1000;
        await tracker.ingest(callLifecycle({ callId: `CA-many${index}`, startMs })[0]!);
      }
      clock.now = t0 + 31 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: count });
      clock.now += minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 0 });
      const alerted = recording.acceptedOf('alert.long_call').map((event) => event.callId);
      expect(new Set(alerted).size).toBe(count);
    });

    it('does not alert a long call again when maintenance stopped for longer than any retention', async () => {
      const { store, elapse } = makeStore();
      const clock = { now: t0 };
      // The bus's history (an hour) runs on the same clock: it cannot drop the repeat either.
      const recording = createRecordingBus(createMemoryBus({ clock: { now: () => clock.now } }));
      const tracker = createCallTracker({
        bus: recording.bus,
        store,
        clock: { now: () => clock.now },
        logger: {},
        alerts: { longCallMs: 30 * minute },
      });
      await tracker.ingest(callLifecycle({ callId: 'CA-paused' })[0]!);
      clock.now = t0 + 31 * minute;
      expect(await tracker.runMaintenance()).toMatchObject({ alerts: 1 });
      // No maintenance for two days (every process down or stuck); events keep the call active.
      for (let part = 1; part <= 48; part += 1) {
        clock.now += hour;
        await elapse(hour);
        await tracker.ingest({
          id: `twilio:CA-paused:transcript:${part}`,
          type: 'call.transcript',
          tenantId: 'tenant-a',
          provider: 'twilio',
          callId: 'CA-paused',
          occurredAt: new Date(clock.now).toISOString(),
          receivedAt: new Date(clock.now).toISOString(),
          data: { transcript: `Hour ${part} of a long conversation.` },
        });
      }
      expect(await tracker.runMaintenance()).toMatchObject({ reaped: 0, alerts: 0 });
      expect(await tracker.countActiveCalls('tenant-a')).toMatchObject({ total: 1 });
      expect(recording.acceptedOf('alert.long_call', 'CA-paused')).toHaveLength(1);
    });
  });
});

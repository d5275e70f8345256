// Every snapshot the tracker publishes must be one core's `callSnapshotSchema` accepts (the bus
// validates `data.call` at publish, after the store applied the event): checked for arbitrary
// events, valid or not, on both stores, through a memory bus that validates what it is given.
import { createRedisBus } from '@calltrack/bus/redis';
import {
  type CallEvent,
  callEventSchema,
  callSnapshotSchema,
  callStatuses,
  InvalidEventError,
} from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readBus } from './__tests__/bus-reader';
import { createRecordingBus } from './__tests__/recording-bus';
import { callSnapshotBudget } from './call-snapshot-budget';
import type { CallStore } from './call-store';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';
import { t0 } from './make-call-event';

const hour = 3_600_000;
const day = 24 * hour;
const { earliestTime, latestTime } = callSnapshotBudget;

/** Mostly around the tests' epoch; sometimes anywhere, or right at the edges of the years. */
const timeArbitrary = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: t0 - hour, max: t0 + 2 * hour }) },
  { weight: 1, arbitrary: fc.integer({ min: earliestTime, max: latestTime }) },
  { weight: 1, arbitrary: fc.integer({ min: earliestTime - day, max: earliestTime + day }) },
  { weight: 1, arbitrary: fc.integer({ min: latestTime - day, max: latestTime + day }) },
);

/** `ms` written in local time at `offsetMinutes` east of UTC (which may not be a valid time). */
function isoAtOffset(ms: number, offsetMinutes: number): string {
  const local = new Date(ms + offsetMinutes * 60_000).toISOString();
  if (offsetMinutes === 0) return local;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const minutes = Math.abs(offsetMinutes);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return local.replace('Z', `${sign}${hh}:${mm}`);
}

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 40 }));
const name = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('north', 'south', 'agent-1', '+14155550100') },
  { weight: 1, arbitrary: fc.constant('n'.repeat(256)) },
  { weight: 1, arbitrary: text },
);

const rawEventArbitrary = fc.record({
  id: fc.nat({ max: 12 }).map((n) => `evt-${n}`),
  callId: fc.constantFrom('CA-1', 'CA-2', 'CA 3'),
  type: fc.constantFrom(
    'call.initiated',
    'call.ringing',
    'call.answered',
    'call.status_changed',
    'call.ended',
    'call.analyzed',
    'call.recording',
    'call.machine_detection',
    'call.transcript',
    'call.transfer_started',
  ),
  status: optional(fc.constantFrom(...callStatuses)),
  time: timeArbitrary,
  offsetMinutes: fc.constantFrom(0, 0, 60, -60, 330, 14 * 60, -12 * 60),
  sequence: optional(fc.oneof(fc.nat({ max: 4 }), fc.constant(Number.MAX_SAFE_INTEGER))),
  provider: fc.constantFrom('twilio', 'retell', 'callerdesk'),
  branchId: optional(name),
  agentId: optional(name),
  userId: optional(name),
  direction: optional(fc.constantFrom('inbound', 'outbound')),
  from: optional(name),
  to: optional(name),
  data: fc.record(
    {
      durationMs: fc.oneof(
        fc.nat({ max: 2 * hour }),
        fc.constant(Number.MAX_SAFE_INTEGER),
        fc.constant(-1),
      ),
      recordingUrl: fc.oneof(fc.webUrl(), fc.constant('')),
      recordingDurationMs: fc.nat(),
      answeredBy: text,
      analysis: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
      cost: fc.record({
        amount: fc.double({ noNaN: true, noDefaultInfinity: true }),
        currency: fc.constantFrom('USD', 'EUR', ''),
      }),
      disconnectionReason: text,
      reason: text,
      transcript: text,
      providerStatus: text,
    },
    { requiredKeys: [] },
  ),
});

type RawEvent = typeof rawEventArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toInput({ time, offsetMinutes, ...raw }: RawEvent, tenantId: string): unknown {
  const occurredAt = isoAtOffset(time, offsetMinutes);
  const event: Record<string, unknown> = { ...raw, tenantId, occurredAt, receivedAt: occurredAt };
  for (const [key, value] of Object.entries(event)) if (value === undefined) delete event[key];
  return event;
}

/** Ingests every event, then runs maintenance far ahead (the reaper's ends are published too). */
async function run(
  store: CallStore,
  raws: readonly RawEvent[],
  tenantId: string,
  recording = createRecordingBus(),
) {
  const errors: unknown[] = [];
  let clock = t0;
  const tracker = createCallTracker({
    bus: recording.bus,
    store,
    clock: { now: () => (clock += 1000) },
    logger: { error: (message, context) => errors.push({ message, context }) },
  });
  for (const raw of raws) {
    const input = toInput(raw, tenantId);
    const attempts = recording.attempts.length;
    const valid = callEventSchema.safeParse(input);
    const outcome = await tracker.ingest(input as CallEvent).then(
      () => 'ingested',
      (error: unknown) => error,
    );
    const trackable =
      valid.success &&
      Date.parse(valid.data.occurredAt) >= earliestTime &&
      Date.parse(valid.data.occurredAt) <= latestTime;
    if (trackable) {
      expect(outcome, JSON.stringify(input)).toBe('ingested');
    } else {
      // Refused with a 400 naming the field, before anything was applied or published.
      expect(InvalidEventError.isInstance(outcome), JSON.stringify(input)).toBe(true);
      expect(recording.attempts.length).toBe(attempts);
    }
  }
  await tracker.runMaintenance(clock + 2 * day);
  await tracker.stop();
  // No publish failed, the reaper's included (maintenance reports its failures here).
  expect(errors).toEqual([]);
  return recording;
}

function expectValidSnapshots(published: readonly CallEvent[]): void {
  for (const event of published) {
    const snapshot = callSnapshotSchema.safeParse(event.data.call);
    expect(snapshot.success, JSON.stringify(snapshot.error?.issues)).toBe(true);
    expect(event.data.call).toMatchObject({ tenantId: event.tenantId, callId: event.callId });
  }
}

describe('createCallTracker (property): published snapshots', () => {
  it('are valid CallSnapshots for any events, and invalid events are refused with a 400', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rawEventArbitrary, { maxLength: 30 }), async (raws) => {
        const recording = await run(createMemoryCallStore(), raws, 'tenant-a');
        expectValidSnapshots(recording.attempts);
      }),
      { numRuns: 200 },
    );
  });
});

const redis = await connectTestRedis();
const prefix = uniquePrefix('tracker-snapshot-prop');

describe.skipIf(!redis)('createCallTracker on Redis (property): published snapshots', () => {
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('are what the two-step path publishes, when the Redis bus publishes inside the apply script', async () => {
    const twoStepStore = createRedisCallStore({ redis: redis!, prefix: `${prefix}:two` });
    const oneStepStore = createRedisCallStore({ redis: redis!, prefix: `${prefix}:one:store` });
    const bus = createRedisBus({ redis: redis!, prefix: `${prefix}:one:bus` });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rawEventArbitrary, { maxLength: 30 }), async (raws) => {
        runs += 1;
        const tenantId = `tenant-${runs}`;
        const twoStep = await run(twoStepStore, raws, tenantId);
        const reader = readBus(bus, tenantId);
        await reader.ready;
        // The Redis bus itself, not a recording wrapper (which would hide what it is).
        await run(oneStepStore, raws, tenantId, { ...createRecordingBus(), bus });
        const published = await reader.drain();
        await reader.close();
        expectValidSnapshots(published);
        expect(published).toEqual(twoStep.accepted);
      }),
      { numRuns: 100 },
    );
    await bus.close();
  }, 120_000);

  it('are valid CallSnapshots for any events', async () => {
    const store = createRedisCallStore({ redis: redis!, prefix });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(rawEventArbitrary, { maxLength: 30 }), async (raws) => {
        runs += 1;
        const recording = await run(store, raws, `tenant-${runs}`);
        expectValidSnapshots(recording.attempts);
      }),
      { numRuns: 40 },
    );
  });
});

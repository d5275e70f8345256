import { createMemoryBus } from '@calltrack/bus';
import {
  type CallEvent,
  type CallSnapshot,
  callEventLimits,
  callSnapshotSchema,
  InvalidEventError,
} from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { callDetailNames } from './call-details';
import { callSnapshotBudget, checkTrackableEvent, keepsCallDetail } from './call-snapshot-budget';
import { createCallTracker } from './create-call-tracker';
import { makeCallEvent, t0 } from './make-call-event';

/** An object nested `depth` levels (`{}` is 1). */
const nested = (depth: number): Record<string, unknown> => {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
};
/** A string whose JSON takes exactly `length` characters. */
const jsonString = (length: number): string => 'x'.repeat(length - 2);
/** An analysis whose JSON takes exactly `length` characters (as `checkJsonLimits` counts it). */
const analysisOf = (length: number) => ({ summary: jsonString(length - 12) });

const refusal = (run: () => unknown): InvalidEventError => {
  try {
    run();
  } catch (error) {
    if (InvalidEventError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('accepted');
};

describe('callSnapshotBudget', () => {
  it('holds the largest snapshot the tracker can build', () => {
    const long = (length: number) => 'y'.repeat(length);
    const largest: CallSnapshot = {
      tenantId: long(128),
      callId: long(256),
      provider: long(64),
      status: 'in-progress',
      active: true,
      branchId: long(256),
      agentId: long(256),
      userId: long(256),
      direction: 'outbound',
      from: long(256),
      to: long(256),
      startedAt: '2026-11-21T10:00:00.000Z',
      answeredAt: '2026-11-21T10:00:00.000Z',
      endedAt: '2026-11-21T10:00:00.000Z',
      durationMs: Number.MAX_SAFE_INTEGER,
      answeredBy: jsonString(callSnapshotBudget.detailLength.answeredBy),
      recordingUrl: jsonString(callSnapshotBudget.detailLength.recordingUrl),
      recordingDurationMs: Number.MAX_SAFE_INTEGER,
      analysis: analysisOf(callSnapshotBudget.detailLength.analysis),
      cost: { amount: -Number.MAX_VALUE, currency: 'ABCDEFGH' },
      disconnectionReason: jsonString(callSnapshotBudget.detailLength.disconnectionReason),
      reason: jsonString(callSnapshotBudget.detailLength.reason),
      createdAt: '2026-11-21T10:00:00.000Z',
      updatedAt: '2026-11-21T10:00:00.000Z',
      version: Number.MAX_SAFE_INTEGER,
    };
    expect(callSnapshotSchema.safeParse(largest).success).toBe(true);
    for (const name of callDetailNames) {
      expect(keepsCallDetail(name, largest[name]), name).toBe(true);
    }
    // `data.call` adds its key and punctuation to the event's data.
    expect(JSON.stringify({ call: largest }).length).toBeLessThanOrEqual(
      callSnapshotBudget.snapshotLength,
    );
  });

  it('keeps a detail on the call only when it fits, a level deeper than on its event', () => {
    const { detailDepth, detailLength } = callSnapshotBudget;
    expect(detailDepth).toBe(callEventLimits.data.maxDepth - 2);
    expect(keepsCallDetail('analysis', nested(detailDepth))).toBe(true);
    expect(keepsCallDetail('analysis', nested(detailDepth + 1))).toBe(false);
    expect(keepsCallDetail('analysis', analysisOf(detailLength.analysis))).toBe(true);
    expect(keepsCallDetail('analysis', analysisOf(detailLength.analysis + 1))).toBe(false);
    expect(keepsCallDetail('recordingUrl', jsonString(detailLength.recordingUrl))).toBe(true);
    expect(keepsCallDetail('recordingUrl', jsonString(detailLength.recordingUrl + 1))).toBe(false);
    expect(keepsCallDetail('durationMs', Number.MAX_SAFE_INTEGER)).toBe(true);
  });

  it('refuses an event whose time a snapshot cannot carry, or whose data leaves no room for one', () => {
    for (const occurredAt of ['0000-01-01T00:30:00+01:00', '9999-12-31T23:30:00-01:00']) {
      expect(refusal(() => checkTrackableEvent(makeCallEvent({ occurredAt }))).field).toBe(
        'occurredAt',
      );
    }
    for (const occurredAt of ['0000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z']) {
      expect(() => checkTrackableEvent(makeCallEvent({ occurredAt }))).not.toThrow();
    }
    const room = callEventLimits.data.maxLength - callSnapshotBudget.snapshotLength;
    // `{"transcript":…}` takes 15 characters besides the string.
    const fits = makeCallEvent({ data: { transcript: jsonString(room - 15) } });
    expect(() => checkTrackableEvent(fits)).not.toThrow();
    const over = makeCallEvent({ data: { transcript: jsonString(room - 14) } });
    const error = refusal(() => checkTrackableEvent(over));
    expect(error.field).toBe('data');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(/128 KiB of data for the call snapshot/);
  });

  it('lets the largest event and the largest snapshot through a bus that checks the limits', async () => {
    const published: CallEvent[] = [];
    const bus = createMemoryBus();
    const tracker = createCallTracker({
      bus: {
        publish: async (event) => {
          const result = await bus.publish(event);
          published.push(event);
          return result;
        },
      },
      clock: { now: () => t0 },
      logger: {},
    });
    const room = callEventLimits.data.maxLength - callSnapshotBudget.snapshotLength;
    const common = { callId: 'CA-big', from: 'f'.repeat(256), to: 't'.repeat(256) };
    await tracker.ingest(makeCallEvent({ ...common, type: 'call.initiated', status: 'queued' }));
    await tracker.ingest(
      makeCallEvent({
        ...common,
        type: 'call.analyzed',
        status: undefined,
        data: {
          analysis: analysisOf(callSnapshotBudget.detailLength.analysis),
          recordingUrl: jsonString(callSnapshotBudget.detailLength.recordingUrl),
          disconnectionReason: jsonString(callSnapshotBudget.detailLength.disconnectionReason),
          // Too deep for the call: it stays on this event only.
          reason: undefined,
          deep: nested(callEventLimits.data.maxDepth - 1),
        },
      }),
    );
    const result = await tracker.ingest(
      makeCallEvent({
        ...common,
        type: 'call.transcript',
        status: undefined,
        data: { transcript: jsonString(room - 16) },
      }),
    );
    expect(result).toMatchObject({ outcome: 'enriched', published: true });
    expect(published).toHaveLength(3);
    expect(published[2]!.data.call?.analysis).toEqual(
      analysisOf(callSnapshotBudget.detailLength.analysis),
    );
    await bus.close();
  });

  it('publishes an analysis too deep for the call on its event, without keeping it', async () => {
    const bus = createMemoryBus();
    const tracker = createCallTracker({ bus, clock: { now: () => t0 }, logger: {} });
    const deep = { depth: nested(callEventLimits.data.maxDepth - 2) };
    const result = await tracker.ingest(
      makeCallEvent({
        callId: 'CA-deep',
        type: 'call.analyzed',
        status: undefined,
        data: { analysis: deep },
      }),
    );
    expect(result).toMatchObject({ outcome: 'enriched', published: true });
    expect(result.call).not.toHaveProperty('analysis');
    await bus.close();
  });
});

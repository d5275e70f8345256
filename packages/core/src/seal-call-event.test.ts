import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { callEventArbitrary } from './__tests__/call-event-arbitrary';
import { callEventSchema } from './call-event-schema';
import type { CallSnapshot } from './call-snapshot';
import { callSnapshotSchema } from './call-snapshot';
import { InvalidEventError } from './errors/invalid-event-error';
import { isSealedCallEvent, sealCallEvent, withCallSnapshot } from './seal-call-event';

const event = {
  id: 'twilio:CA1:ringing',
  type: 'call.ringing',
  tenantId: 'tenant-a',
  provider: 'twilio',
  callId: 'CA1',
  status: 'ringing',
  occurredAt: '2026-11-21T10:00:00.000Z',
  receivedAt: '2026-11-21T10:00:00.100Z',
  data: { analysis: { summary: { text: 'ok' } } },
  raw: { a: [1] },
} as const;

const snapshot: CallSnapshot = {
  tenantId: 'tenant-a',
  callId: 'CA1',
  provider: 'twilio',
  status: 'ringing',
  active: true,
  analysis: { topics: [{ name: 'billing' }] },
  createdAt: '2026-11-21T10:00:00.100Z',
  updatedAt: '2026-11-21T10:00:00.100Z',
  version: 1,
};

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

describe('sealCallEvent', () => {
  it('returns a validated copy, frozen all the way down, that cannot become invalid', () => {
    const input = structuredClone(event);
    const sealed = sealCallEvent(input);
    expect(sealed).toEqual(input);
    expect(isSealedCallEvent(sealed)).toBe(true);
    expect(isSealedCallEvent(input)).toBe(false);
    expect(() => {
      (sealed as { status: string }).status = 'answered';
    }).toThrowError(TypeError);
    expect(() => {
      (sealed.data.analysis as { summary: { text: unknown } }).summary.text = 10n;
    }).toThrowError(TypeError);
    expect(() => (sealed.raw as { a: unknown[] }).a.push({})).toThrowError(TypeError);
    expect(sealCallEvent(sealed)).toBe(sealed);
  });

  it('is the event as JSON carries it, sharing nothing with the input: getters run once, no code stays', () => {
    let reads = 0;
    const nested = { deeper: { value: 1 } };
    const input = {
      ...event,
      data: {
        at: new Date('2026-11-21T10:00:00.000Z'),
        get counted() {
          reads += 1;
          return reads;
        },
        custom: { toJSON: () => ({ shown: true }) },
        skipped: () => 1,
        list: [undefined, Number.NaN, 1],
      },
      raw: Object.freeze({ nested }),
    };
    const sealed = sealCallEvent(input);
    expect(reads).toBe(1);
    expect(sealed.data).toEqual({
      at: '2026-11-21T10:00:00.000Z',
      counted: 1,
      custom: { shown: true },
      list: [null, null, 1],
    });
    expect(Object.getOwnPropertyDescriptor(sealed.data, 'counted')).toMatchObject({ value: 1 });
    expect(sealed.raw).toEqual({ nested: { deeper: { value: 1 } } });
    expect((sealed.raw as { nested: unknown }).nested).not.toBe(nested);
    // The caller's objects are left as they were: not frozen, not shared.
    expect(Object.isFrozen(nested)).toBe(false);
    expect(Object.isFrozen(input.data)).toBe(false);
    nested.deeper.value = 2;
    expect(sealed.raw).toEqual({ nested: { deeper: { value: 1 } } });
  });

  it('refuses, with a 400 naming the field, what cannot be read or written as JSON', () => {
    const getter = thrown(() =>
      sealCallEvent({
        ...event,
        raw: {
          get broken() {
            throw new Error('no');
          },
        },
      }),
    );
    expect(getter).toMatchObject({ status: 400, field: 'raw.broken' });
    const bigint = thrown(() => sealCallEvent({ ...event, data: { amount: 10n } }));
    expect(bigint).toMatchObject({ status: 400, field: 'data.amount' });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(thrown(() => sealCallEvent({ ...event, data: { cycle } }))).toMatchObject({
      status: 400,
      field: expect.stringMatching(/^data\.cycle(\.self)+$/),
    });
  });

  it('refuses what publish refuses, with the same InvalidEventError', () => {
    const error = thrown(() => sealCallEvent({ ...event, status: 'answered' }));
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect((error as InvalidEventError).field).toBe('status');
  });

  it('cannot be forged: a copy, a lookalike or a frozen plain event is not sealed', () => {
    const sealed = sealCallEvent(event);
    expect(isSealedCallEvent({ ...sealed })).toBe(false);
    expect(isSealedCallEvent(Object.freeze(structuredClone(event)))).toBe(false);
    expect(isSealedCallEvent(Object.create(sealed))).toBe(false);
    expect(Object.getOwnPropertySymbols(sealed)).toEqual([]);
    expect(isSealedCallEvent(undefined)).toBe(false);
    expect(isSealedCallEvent('event')).toBe(false);
  });

  it('seals every valid event and keeps it equal to its JSON round trip', () => {
    fc.assert(
      fc.property(callEventArbitrary, (generated) => {
        const sealed = sealCallEvent(JSON.parse(JSON.stringify(generated)));
        expect(sealed).toEqual(generated);
        expect(Object.isFrozen(sealed.data)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('withCallSnapshot', () => {
  it('adds the snapshot to a sealed event, sealed, validating only the snapshot', () => {
    const sealed = sealCallEvent(event);
    const events = vi.spyOn(callEventSchema, 'safeParse');
    const snapshots = vi.spyOn(callSnapshotSchema, 'safeParse');
    try {
      const published = withCallSnapshot(sealed, snapshot);
      expect(events).not.toHaveBeenCalled();
      expect(snapshots).toHaveBeenCalledTimes(1);
      expect(published).toEqual({ ...event, data: { ...event.data, call: snapshot } });
      expect(isSealedCallEvent(published)).toBe(true);
      expect(Object.isFrozen(published.data.call)).toBe(true);
      expect(Object.isFrozen(published.data.call?.analysis?.topics)).toBe(true);
      expect(published.data.call?.analysis).not.toBe(snapshot.analysis);
      // The sealed original is left as it was; the caller's snapshot is not frozen.
      expect(sealed.data).not.toHaveProperty('call');
      expect(Object.isFrozen(snapshot)).toBe(false);
    } finally {
      events.mockRestore();
      snapshots.mockRestore();
    }
  });

  it('replaces a snapshot the event carried', () => {
    const older = sealCallEvent({ ...event, data: { call: { ...snapshot, version: 0 } } });
    expect(withCallSnapshot(older, snapshot).data.call).toEqual(snapshot);
  });

  it('validates a plain event whole', () => {
    const events = vi.spyOn(callEventSchema, 'safeParse');
    try {
      const published = withCallSnapshot({ ...event }, snapshot);
      expect(events).toHaveBeenCalledTimes(1);
      expect(isSealedCallEvent(published)).toBe(true);
    } finally {
      events.mockRestore();
    }
  });

  it('refuses a snapshot the schema refuses, or one that makes data too deep or too long', () => {
    const sealed = sealCallEvent(event);
    const bad = thrown(() => withCallSnapshot(sealed, { ...snapshot, version: -1 }));
    expect((bad as InvalidEventError).field).toBe('data.call.version');
    let deep: Record<string, unknown> = {};
    const analysis = deep;
    for (let level = 0; level < 40; level += 1) {
      const next = {};
      deep.next = next;
      deep = next;
    }
    const tooDeep = thrown(() => withCallSnapshot(sealed, { ...snapshot, analysis }));
    expect(InvalidEventError.isInstance(tooDeep)).toBe(true);
    expect((tooDeep as InvalidEventError).field).toMatch(/^data\.call\.analysis/);
    const long = { text: 'x'.repeat(1024 * 1024) };
    const tooLong = thrown(() => withCallSnapshot(sealed, { ...snapshot, analysis: long }));
    expect((tooLong as InvalidEventError).field).toBe('data.call');
    // Each fits on its own; together they are over the limit of data.
    const half = { text: 'x'.repeat(600 * 1024) };
    const full = sealCallEvent({ ...event, data: { half } });
    const together = thrown(() => withCallSnapshot(full, { ...snapshot, analysis: half }));
    expect((together as InvalidEventError).field).toBe('data');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callEventArbitrary } from './__tests__/call-event-arbitrary';
import { callEventSchema } from './call-event-schema';
import { fastParseCallEvent } from './fast-parse-call-event';
import { parseCallEvent } from './parse-call-event';

/** Anything a field might hold: right and wrong types, edge lengths, odd numbers. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.constant(''),
  fc.string({ maxLength: 3 }),
  fc.constantFrom('x'.repeat(64), 'x'.repeat(65), 'x'.repeat(129), 'x'.repeat(257)),
  fc.constantFrom('a b', 'a{b', 'call.ended', 'ringing', 'completed', 'inbound', 'Call.X'),
  fc.constantFrom('2026-02-29T10:00:00Z', '2026-11-21T10:00:00+05:30', '2026-11-21 10:00:00Z'),
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 53, -0, Number.NaN, Number.POSITIVE_INFINITY),
  fc.boolean(),
  fc.array(fc.nat(), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.nat(), { maxKeys: 2 }),
);
const topLevelKeys = Object.keys(callEventSchema.shape);
const dataKeys = [
  'durationMs',
  'recordingUrl',
  'recordingDurationMs',
  'answeredBy',
  'transcript',
  'analysis',
  'cost',
  'disconnectionReason',
  'reason',
  'rawOmitted',
  'call',
  'custom',
  '__proto__',
];

/** A valid event with some fields changed, removed or added. */
const mutatedEvent = fc
  .tuple(
    callEventArbitrary,
    fc.array(fc.tuple(fc.constantFrom(...topLevelKeys, 'extra'), anyValue, fc.boolean()), {
      maxLength: 3,
    }),
    fc.array(fc.tuple(fc.constantFrom(...dataKeys), anyValue, fc.boolean()), { maxLength: 3 }),
  )
  .map(([event, changes, dataChanges]) => {
    const result: Record<string, unknown> = { ...event, data: { ...event.data } };
    const data = result.data as Record<string, unknown>;
    for (const [key, value, remove] of changes) {
      if (remove) delete result[key];
      else result[key] = value;
    }
    for (const [key, value, remove] of dataChanges) {
      if (remove) delete data[key];
      else
        Object.defineProperty(data, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    }
    return result;
  });

/** What the schema returns, or `undefined` when it refuses. */
const bySchema = (value: unknown) => {
  const result = callEventSchema.safeParse(value);
  return result.success ? result.data : undefined;
};

const keysInOrder = (value: unknown): unknown =>
  value && typeof value === 'object'
    ? [Object.keys(value), Object.keys((value as { data: object }).data)]
    : value;

describe('fastParseCallEvent', () => {
  it('answers as the schema does, or leaves it to the schema (valid and mutated events)', () => {
    fc.assert(
      fc.property(fc.oneof(callEventArbitrary, mutatedEvent), (value) => {
        const fast = fastParseCallEvent(value);
        if (fast === undefined) return;
        const schema = bySchema(value);
        expect(schema).toBeDefined();
        expect(fast).toStrictEqual(schema);
        expect(keysInOrder(fast)).toEqual(keysInOrder(schema));
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common events itself', () => {
    fc.assert(
      fc.property(callEventArbitrary, (event) => {
        expect(fastParseCallEvent(event)).toStrictEqual(bySchema(event));
      }),
      { numRuns: 500 },
    );
  });

  it('copies the event and its data, and keeps raw as given', () => {
    const raw = { CallSid: 'CA1' };
    const event = {
      id: 'e1',
      type: 'call.ringing',
      tenantId: 't',
      provider: 'twilio',
      callId: 'CA1',
      occurredAt: '2026-11-21T10:00:00Z',
      receivedAt: '2026-11-21T10:00:00.1Z',
      data: { custom: { a: 1 } },
      raw,
      extra: 'dropped',
    };
    const parsed = fastParseCallEvent(event)!;
    expect(parsed).not.toBe(event);
    expect(parsed.data).not.toBe(event.data);
    expect(parsed.data.custom).toBe(event.data.custom);
    expect(parsed.raw).toBe(raw);
    expect('extra' in parsed).toBe(false);
  });

  it('leaves the objects the schema copies, and non-plain objects, to the schema', () => {
    const base = {
      id: 'e1',
      type: 'call.ended',
      tenantId: 't',
      provider: 'twilio',
      callId: 'CA1',
      occurredAt: '2026-11-21T10:00:00Z',
      receivedAt: '2026-11-21T10:00:00Z',
      data: {},
    };
    expect(fastParseCallEvent({ ...base, data: { cost: { amount: 1, currency: 'USD' } } })).toBe(
      undefined,
    );
    expect(fastParseCallEvent({ ...base, data: { analysis: {} } })).toBe(undefined);
    expect(fastParseCallEvent(Object.assign(Object.create({ inherited: 1 }), base))).toBe(
      undefined,
    );
    expect(fastParseCallEvent({ ...base, status: 'ringing' })).toBe(undefined);
    expect(fastParseCallEvent({ ...base, callId: undefined })).toBe(undefined);
    expect(fastParseCallEvent(JSON.parse('{"id":"e","data":{"__proto__":{}}}'))).toBe(undefined);
  });
});

describe('parseCallEvent', () => {
  it('still names the offending field when the fast path steps aside', () => {
    expect(() =>
      parseCallEvent({
        id: 'e1',
        type: 'call.ringing',
        tenantId: 't',
        provider: 'twilio',
        occurredAt: '2026-11-21T10:00:00Z',
        receivedAt: '2026-11-21T10:00:00Z',
        data: {},
      }),
    ).toThrow(/callId/);
  });

  it('reports a getter that throws as invalid, never as the getter’s error', () => {
    const event = {
      id: 'e1',
      type: 'call.ringing',
      tenantId: 't',
      provider: 'twilio',
      occurredAt: '2026-11-21T10:00:00Z',
      receivedAt: '2026-11-21T10:00:00Z',
      data: {},
      get callId(): string {
        throw new Error('boom');
      },
    };
    expect(() => parseCallEvent(event)).toThrow();
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callEventArbitrary } from './__tests__/call-event-arbitrary';
import { callEventLimits, callEventSchema } from './call-event-schema';
import { InvalidEventError } from './errors/invalid-event-error';
import { parseCallEvent } from './parse-call-event';

const valid = {
  id: 'twilio:CA123:3',
  type: 'call.answered',
  tenantId: 'acme',
  provider: 'twilio',
  callId: 'CA123',
  direction: 'outbound',
  from: '+14155550100',
  to: '+14155550111',
  status: 'in-progress',
  occurredAt: '2026-11-21T10:00:00.000Z',
  receivedAt: '2026-11-21T10:00:00.120Z',
  sequence: 3,
  data: { vendorSpecific: { a: 1 } },
};

describe('callEventSchema', () => {
  it('accepts every generated valid event and survives a JSON round trip unchanged', () => {
    fc.assert(
      fc.property(callEventArbitrary, (event) => {
        const parsed = parseCallEvent(JSON.parse(JSON.stringify(event)));
        expect(parsed).toEqual(event);
      }),
    );
  });

  it('keeps unknown fields inside data (lenient) but drops unknown top-level fields', () => {
    const parsed = parseCallEvent({ ...valid, extra: true });
    expect(parsed.data).toEqual({ vendorSpecific: { a: 1 } });
    expect(parsed).not.toHaveProperty('extra');
  });

  it('accepts ISO times with an offset and non-call event types without a callId', () => {
    const event = parseCallEvent({
      ...valid,
      type: 'alert.concurrency_exceeded',
      callId: undefined,
      occurredAt: '2026-11-21T15:30:00+05:30',
    });
    expect(event.callId).toBeUndefined();
  });

  it.each([
    ['id', { id: '' }],
    ['type', { type: 'Answered' }],
    ['tenantId', { tenantId: 'a{b}' }],
    ['tenantId', { tenantId: 'has space' }],
    ['status', { status: 'answered' }],
    ['direction', { direction: 'sideways' }],
    ['occurredAt', { occurredAt: 'yesterday' }],
    ['receivedAt', { receivedAt: 12 }],
    ['sequence', { sequence: -1 }],
    ['data.durationMs', { data: { durationMs: 1.5 } }],
    ['callId', { callId: undefined }],
    ['data', { data: undefined }],
    ['status', { type: 'call.ended', status: 'ringing' }],
  ])('rejects a bad %s and names the field', (field, patch) => {
    let caught: unknown;
    try {
      parseCallEvent({ ...valid, ...patch });
    } catch (error) {
      caught = error;
    }
    expect(InvalidEventError.isInstance(caught)).toBe(true);
    expect((caught as InvalidEventError).field).toBe(field);
    expect((caught as InvalidEventError).status).toBe(400);
    expect((caught as InvalidEventError).message).toContain(field);
  });

  it('rejects any value that is missing a required field, whatever else it holds', () => {
    const required = [
      'id',
      'type',
      'tenantId',
      'provider',
      'occurredAt',
      'receivedAt',
      'data',
    ] as const;
    fc.assert(
      fc.property(callEventArbitrary, fc.constantFrom(...required), (event, field) => {
        const broken: Record<string, unknown> = { ...event };
        delete broken[field];
        expect(callEventSchema.safeParse(broken).success).toBe(false);
      }),
    );
  });

  it('refuses lone surrogates in the ids that become Redis keys, whichever path validates', () => {
    // No UTF-8 form: Redis would store both as U+FFFD, so a second event would be a "duplicate".
    for (const field of ['id', 'callId', 'branchId', 'agentId', 'userId'] as const) {
      for (const lone of ['\uD800', 'x\uDC00', '\uDC00\uD800']) {
        const event = { ...valid, [field]: `CA-${lone}` };
        expect(callEventSchema.safeParse(event).success, `${field} ${JSON.stringify(lone)}`).toBe(
          false,
        );
        expect(() => parseCallEvent(event)).toThrowError(/lone surrogate/);
      }
      // A pair is a character like any other.
      expect(parseCallEvent({ ...valid, [field]: 'CA-\u{1F4DE}' })[field]).toBe('CA-\u{1F4DE}');
    }
  });

  it('refuses control characters in the ids that become Redis keys and database text, whichever path validates', () => {
    // NUL: PostgreSQL refuses it in text (the dialer's attempts would fail on it); line breaks and
    // the rest of C0/C1 forge log lines and mean nothing in a provider's id. The provider's name
    // is kept with the call id (the dialer's attempts key on both).
    for (const field of ['id', 'callId', 'branchId', 'agentId', 'userId', 'provider'] as const) {
      for (const control of ['\u0000', 'x\n', '\r', '\u001b[2J', '\u007f', '\u0085']) {
        const event = { ...valid, [field]: `CA-${control}` };
        expect(
          callEventSchema.safeParse(event).success,
          `${field} ${JSON.stringify(control)}`,
        ).toBe(false);
        expect(() => parseCallEvent(event)).toThrowError(/control character/);
      }
    }
  });

  it('never throws anything but InvalidEventError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          parseCallEvent(value);
        } catch (error) {
          expect(InvalidEventError.isInstance(error)).toBe(true);
        }
      }),
    );
  });
});

describe('callEventSchema limits and the call snapshot', () => {
  it('refuses data nested deeper than callEventLimits, naming the field, without overflowing', () => {
    let metadata: unknown = 'leaf';
    for (let level = 0; level < 20_000; level += 1) metadata = { metadata };
    const error = (() => {
      try {
        parseCallEvent({ ...valid, data: { metadata } });
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidEventError.isInstance(error)).toBe(true);
    expect((error as InvalidEventError).field).toMatch(/^data\.metadata(\.metadata)+$/);
    expect((error as InvalidEventError).message).toContain('nested deeper than 32 levels');
  });

  it('refuses raw payloads longer than callEventLimits.raw', () => {
    const raw = { transcript: 'x'.repeat(callEventLimits.raw.maxLength) };
    expect(() => parseCallEvent({ ...valid, raw })).toThrow(/raw: is longer than/);
  });

  it('types and validates the tracker snapshot in data.call', () => {
    const call = {
      tenantId: 'acme',
      callId: 'CA123',
      provider: 'twilio',
      status: 'in-progress',
      active: true,
      createdAt: '2026-11-21T10:00:00.000Z',
      updatedAt: '2026-11-21T10:00:01.000Z',
      version: 2,
      futureField: 'kept',
    };
    expect(parseCallEvent({ ...valid, data: { call } }).data.call).toEqual(call);
    expect(() => parseCallEvent({ ...valid, data: { call: { ...call, version: -1 } } })).toThrow(
      /data\.call\.version/,
    );
  });
});

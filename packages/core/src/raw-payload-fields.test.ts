import { describe, expect, it } from 'vitest';
import { callEventLimits } from './call-event-schema';
import { rawPayloadFields } from './raw-payload-fields';
import { sealCallEvent } from './seal-call-event';

const event = {
  id: 'retell:call_1:ended',
  type: 'call.ended',
  tenantId: 'acme',
  provider: 'retell',
  callId: 'call_1',
  status: 'completed',
  occurredAt: '2024-05-02T00:10:00.000Z',
  receivedAt: '2024-05-02T00:10:00.000Z',
};

/** An object `depth` levels deep (`{}` is one). */
function nested(depth: number): unknown {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

/** An event built the way the providers build it. */
function eventWith(payload: unknown) {
  const { raw, rawOmitted } = rawPayloadFields(payload);
  return sealCallEvent({
    ...event,
    ...(raw === undefined ? {} : { raw }),
    data: rawOmitted === undefined ? {} : { rawOmitted },
  });
}

describe('rawPayloadFields', () => {
  it('keeps a payload within the raw limits', () => {
    const payload = { event: 'call_ended', call: { call_id: 'call_1' } };
    expect(rawPayloadFields(payload)).toEqual({ raw: payload });
    expect(eventWith(payload).raw).toEqual(payload);
  });

  it('leaves out a payload longer than the raw limit, and says so', () => {
    const payload = { transcript: 'x'.repeat(callEventLimits.raw.maxLength) };
    expect(rawPayloadFields(payload)).toEqual({ rawOmitted: 'length' });
    const sealed = eventWith(payload);
    expect(sealed).not.toHaveProperty('raw');
    expect(sealed.data).toEqual({ rawOmitted: 'length' });
  });

  it('leaves out a payload nested deeper than the raw limit, and one JSON cannot hold', () => {
    expect(rawPayloadFields(nested(callEventLimits.raw.maxDepth + 1))).toEqual({
      rawOmitted: 'depth',
    });
    expect(rawPayloadFields(nested(callEventLimits.raw.maxDepth))).toHaveProperty('raw');
    expect(rawPayloadFields({ id: 1n })).toEqual({ rawOmitted: 'unserializable' });
    expect(eventWith(nested(20_000)).data).toEqual({ rawOmitted: 'depth' });
  });
  it('copies a payload once for every event of its webhook, frozen, and never the caller’s object', () => {
    const payload = { event: 'call_ended', call: { call_id: 'call_1', at: new Date(0) } };
    const { raw } = rawPayloadFields(payload);
    expect(raw).not.toBe(payload);
    expect(raw).toEqual({
      event: 'call_ended',
      call: { call_id: 'call_1', at: '1970-01-01T00:00:00.000Z' },
    });
    expect(Object.isFrozen(raw)).toBe(true);
    expect(Object.isFrozen((raw as { call: object }).call)).toBe(true);
    const events = ['ended', 'analyzed'].map((id) =>
      sealCallEvent({ ...event, id: `retell:call_1:${id}`, data: {}, raw }),
    );
    // The events share the one copy: sealing them did not copy it again.
    for (const sealed of events) expect(sealed.raw).toBe(raw);
    // Any other raw is copied when its event is sealed, as before.
    const own = { note: 'mine' };
    const sealed = sealCallEvent({ ...event, data: {}, raw: own });
    expect(sealed.raw).not.toBe(own);
    expect(sealed.raw).toEqual(own);
    // A sealed event's raw is taken as it is by the events made from it.
    expect(sealCallEvent({ ...sealed, id: 'other', data: {} }).raw).toBe(sealed.raw);
    // An object that looks the same but was not sealed is copied.
    const lookalike = Object.freeze({ ...(raw as object) });
    expect(sealCallEvent({ ...event, data: {}, raw: lookalike }).raw).not.toBe(lookalike);
  });
});

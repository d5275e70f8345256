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
});

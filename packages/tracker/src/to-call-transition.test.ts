import { describe, expect, it } from 'vitest';
import { makeCallEvent, t0, testSettings } from './make-call-event';
import { toCallTransition } from './to-call-transition';

const classify = (overrides: Parameters<typeof makeCallEvent>[0]) => {
  const { kind, status } = toCallTransition(makeCallEvent(overrides), t0, testSettings);
  return { kind, status };
};

describe('toCallTransition', () => {
  it('reads the status from the event, or from what its type implies', () => {
    expect(classify({ type: 'call.initiated', status: undefined })).toEqual({
      kind: 'status',
      status: 'queued',
    });
    expect(classify({ type: 'call.ringing', status: undefined })).toEqual({
      kind: 'status',
      status: 'ringing',
    });
    expect(classify({ type: 'call.answered', status: undefined })).toEqual({
      kind: 'status',
      status: 'in-progress',
    });
    expect(classify({ type: 'call.status_changed', status: 'in-progress' })).toEqual({
      kind: 'status',
      status: 'in-progress',
    });
    expect(classify({ type: 'call.ringing', status: 'in-progress' })).toEqual({
      kind: 'status',
      status: 'in-progress',
    });
  });

  it('ends a call only with call.ended, completed when it names no status', () => {
    expect(classify({ type: 'call.ended', status: 'busy' })).toEqual({
      kind: 'end',
      status: 'busy',
    });
    expect(classify({ type: 'call.ended', status: undefined })).toEqual({
      kind: 'end',
      status: 'completed',
    });
    expect(classify({ type: 'call.status_changed', status: 'completed' })).toEqual({
      kind: 'enrich',
      status: undefined,
    });
    expect(classify({ type: 'call.analyzed', status: 'completed' })).toEqual({
      kind: 'enrich',
      status: undefined,
    });
    expect(classify({ type: 'call.status_changed', status: undefined })).toEqual({
      kind: 'enrich',
      status: undefined,
    });
  });

  it('picks identity and the kept details, and keeps the event of an end', () => {
    const event = makeCallEvent({
      type: 'call.ended',
      status: 'completed',
      sequence: 4,
      branchId: 'north',
      data: { durationMs: 1000, transcript: 'long text', analysis: { ok: true }, extra: 1 },
    });
    const transition = toCallTransition(event, t0 + 5, testSettings);
    expect(transition).toMatchObject({
      eventId: event.id,
      occurredAt: Date.parse(event.occurredAt),
      sequence: 4,
      at: t0 + 5,
      identity: { provider: 'twilio', branchId: 'north' },
      details: { durationMs: 1000, analysis: { ok: true } },
      event,
    });
    expect(transition.details).not.toHaveProperty('transcript');
  });

  it('rejects what it cannot track with a clear error', () => {
    expect(() =>
      toCallTransition(makeCallEvent({ type: 'alert.x', callId: undefined }), t0, testSettings),
    ).toThrowError(/no callId/);
  });
});

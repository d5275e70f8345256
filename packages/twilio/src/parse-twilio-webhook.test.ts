import {
  CallTrackError,
  InvalidArgumentError,
  InvalidPayloadError,
  parseCallEvent,
} from '@calltrack/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadTwilioFixture } from './__tests__/load-twilio-fixture';
import { parseTwilioWebhook } from './parse-twilio-webhook';

const tenant = { tenantId: 'acme', branchId: 'sf' };
const receivedAt = new Date('2018-03-25T09:53:20.500Z');
const callSid = 'CAf0e1d2c3b4a5968778695a4b3c2d1e0f';
const accountSid = 'AC0123456789abcdef0123456789abcdef';

function parseFixture(name: string, extra: { includeRaw?: boolean } = {}) {
  return parseTwilioWebhook({
    params: new URLSearchParams(loadTwilioFixture(name)),
    tenant,
    receivedAt,
    ...extra,
  });
}

describe('parseTwilioWebhook: status callbacks', () => {
  it.each([
    ['initiated', 'call.initiated', 'queued', 0, '2018-03-25T09:52:28.000Z'],
    ['ringing', 'call.ringing', 'ringing', 1, '2018-03-25T09:52:29.000Z'],
    ['in-progress', 'call.answered', 'in-progress', 2, '2018-03-25T09:52:30.000Z'],
    ['busy', 'call.ended', 'busy', 2, '2018-03-25T09:52:33.000Z'],
    ['no-answer', 'call.ended', 'no-answer', 2, '2018-03-25T09:53:30.000Z'],
    ['failed', 'call.ended', 'failed', 1, '2018-03-25T09:52:29.000Z'],
    ['canceled', 'call.ended', 'canceled', 2, '2018-03-25T09:52:40.000Z'],
  ])('%s → %s (%s)', (twilioStatus, type, status, sequence, occurredAt) => {
    const events = parseFixture(`twilio-status-callback-${twilioStatus}`);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      id: `twilio:${callSid}:${twilioStatus}`,
      type,
      status,
      sequence,
      occurredAt,
      receivedAt: receivedAt.toISOString(),
      tenantId: 'acme',
      branchId: 'sf',
      provider: 'twilio',
      callId: callSid,
      direction: 'outbound',
      from: '+14155550199',
      to: '+14155550100',
    });
    expect(event!.data).toMatchObject({ providerStatus: twilioStatus, accountSid });
    expect(event!.raw).toBeUndefined();
    expect(parseCallEvent(event)).toEqual(event);
  });

  it('carries CallDuration as durationMs and the SIP code on terminal events', () => {
    const [busy] = parseFixture('twilio-status-callback-busy');
    expect(busy!.data).toMatchObject({ durationMs: 0, sipResponseCode: 486 });
  });

  it('turns a completed callback with AnsweredBy into call.ended plus call.machine_detection', () => {
    const events = parseFixture('twilio-status-callback-completed');
    expect(events.map((event) => [event.type, event.id])).toEqual([
      ['call.ended', `twilio:${callSid}:completed`],
      ['call.machine_detection', `twilio:${callSid}:amd`],
    ]);
    expect(events[0]).toMatchObject({
      status: 'completed',
      sequence: 3,
      occurredAt: '2018-03-25T09:53:19.000Z',
      data: { durationMs: 49_000, answeredBy: 'human' },
    });
    expect(events[1]!.data.answeredBy).toBe('human');
  });

  it('gives a retried webhook the same ids', () => {
    const first = parseFixture('twilio-status-callback-completed');
    const retried = parseTwilioWebhook({
      params: new URLSearchParams(loadTwilioFixture('twilio-status-callback-completed')),
      tenant,
    });
    expect(retried.map((event) => event.id)).toEqual(first.map((event) => event.id));
  });

  it('reads an inbound voice request without SequenceNumber or Timestamp', () => {
    const [event] = parseFixture('twilio-voice-request-inbound-ringing');
    expect(event).toMatchObject({
      id: 'twilio:CA00000000000000000000000000000001:ringing',
      type: 'call.ringing',
      direction: 'inbound',
      from: '+442071838750',
      to: '+14155550100',
      occurredAt: receivedAt.toISOString(),
    });
    expect(event!.sequence).toBeUndefined();
  });

  it('falls back to Caller/Called and keeps non-phone addresses', () => {
    const [event] = parseTwilioWebhook({
      params: {
        CallSid: 'CA1',
        CallStatus: 'ringing',
        Caller: 'client:alice',
        Called: 'sip:bob@example.com',
      },
      tenant,
    });
    expect(event).toMatchObject({ from: 'client:alice', to: 'sip:bob@example.com' });
  });

  it('adds call.recording when the status callback carries a recording', () => {
    const events = parseTwilioWebhook({
      params: {
        CallSid: 'CA1',
        CallStatus: 'completed',
        CallDuration: '12',
        RecordingSid: 'RE1',
        RecordingUrl: 'https://api.twilio.com/rec/RE1',
        RecordingDuration: '11',
      },
      tenant,
    });
    expect(events.map((event) => event.id)).toEqual([
      'twilio:CA1:completed',
      'twilio:CA1:recording:RE1',
    ]);
    expect(events[1]!.data).toMatchObject({
      recordingUrl: 'https://api.twilio.com/rec/RE1',
      recordingDurationMs: 11_000,
    });
  });

  it('includes raw only when asked', () => {
    const [event] = parseFixture('twilio-status-callback-ringing', { includeRaw: true });
    expect(event!.raw).toMatchObject({
      CallSid: callSid,
      CallStatus: 'ringing',
      FromCity: 'SAN FRANCISCO',
    });
  });

  it('uses the first value of a repeated name', () => {
    const [event] = parseTwilioWebhook({
      params: new URLSearchParams('CallSid=CA1&CallStatus=ringing&CallStatus=completed'),
      tenant,
    });
    expect(event!.type).toBe('call.ringing');
  });

  it('ignores unusable optional values instead of failing', () => {
    const [event] = parseTwilioWebhook({
      params: {
        CallSid: 'CA1',
        CallStatus: 'completed',
        CallDuration: '-5',
        SequenceNumber: 'x',
        Timestamp: 'not a date',
        Direction: 'sideways',
        From: '',
      },
      tenant,
      receivedAt,
    });
    expect(event).toMatchObject({ occurredAt: receivedAt.toISOString() });
    expect(event!.sequence).toBeUndefined();
    expect(event!.direction).toBeUndefined();
    expect(event!.from).toBeUndefined();
    expect(event!.data.durationMs).toBeUndefined();
  });
});

describe('parseTwilioWebhook: recording and AMD callbacks', () => {
  it('turns a recording status callback into call.recording', () => {
    const events = parseFixture('twilio-recording-status-callback-completed');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      id: `twilio:${callSid}:recording:RE0123456789abcdef0123456789abcdef`,
      type: 'call.recording',
      callId: callSid,
      occurredAt: receivedAt.toISOString(),
      data: {
        recordingSid: 'RE0123456789abcdef0123456789abcdef',
        recordingStatus: 'completed',
        recordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Recordings/RE0123456789abcdef0123456789abcdef`,
        recordingDurationMs: 48_000,
        recordingChannels: 1,
        recordingSource: 'OutboundAPI',
        recordingStartedAt: '2018-03-25T09:52:31.000Z',
        accountSid,
      },
    });
    expect(events[0]!.status).toBeUndefined();
  });

  it('gives non-completed recording statuses their own id', () => {
    const [event] = parseTwilioWebhook({
      params: {
        CallSid: 'CA1',
        RecordingSid: 'RE1',
        RecordingStatus: 'absent',
        ErrorCode: '16101',
      },
      tenant,
    });
    expect(event).toMatchObject({
      id: 'twilio:CA1:recording:RE1:absent',
      data: { recordingStatus: 'absent', errorCode: '16101' },
    });
  });

  it('turns an async AMD callback into call.machine_detection', () => {
    const events = parseFixture('twilio-amd-status-callback');
    expect(events).toEqual([
      expect.objectContaining({
        id: `twilio:${callSid}:amd`,
        type: 'call.machine_detection',
        data: { answeredBy: 'machine_end_beep', machineDetectionDurationMs: 4350, accountSid },
      }),
    ]);
  });

  it('lets the caller force the kind', () => {
    const [event] = parseTwilioWebhook({
      params: { CallSid: 'CA1', CallStatus: 'in-progress', AnsweredBy: 'human' },
      tenant,
      kind: 'amd',
    });
    expect(event!.type).toBe('call.machine_detection');
  });
});

describe('parseTwilioWebhook: errors', () => {
  it.each([
    [{ CallStatus: 'ringing' }, 'missing required field CallSid'],
    [{ CallSid: 'CA1' }, 'missing required field CallStatus'],
    [{ CallSid: 'CA1', RecordingStatus: 'completed' }, 'missing required field RecordingSid'],
    [{ MachineDetectionDuration: '10', AnsweredBy: 'human' }, 'missing required field CallSid'],
    [{ CallSid: 'CA:1', CallStatus: 'ringing' }, 'CallSid must be a Twilio SID'],
    [{ CallSid: 'CA1', CallStatus: 'exploded' }, 'CallStatus "exploded" is not a known'],
  ])('%j → InvalidPayloadError "%s"', (params, message) => {
    const attempt = () => parseTwilioWebhook({ params, tenant });
    expect(attempt).toThrow(InvalidPayloadError);
    expect(attempt).toThrow(message);
    try {
      attempt();
    } catch (error) {
      expect(InvalidPayloadError.isInstance(error)).toBe(true);
      expect((error as InvalidPayloadError).status).toBe(400);
    }
  });

  it('rejects a bad tenant or receivedAt with InvalidArgumentError', () => {
    const params = { CallSid: 'CA1', CallStatus: 'ringing' };
    for (const badTenant of [
      undefined,
      {},
      { tenantId: '' },
      { tenantId: 'a b' },
      { tenantId: 'x', branchId: 3 },
    ]) {
      expect(() => parseTwilioWebhook({ params, tenant: badTenant as never })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(() => parseTwilioWebhook({ params, tenant, receivedAt: 'soon' })).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects parameters that are not an object', () => {
    for (const params of [null, 'CallSid=CA1', 42, ['CallSid']]) {
      expect(() => parseTwilioWebhook({ params: params as never, tenant })).toThrow(
        InvalidPayloadError,
      );
    }
  });
});

describe('parseTwilioWebhook: properties', () => {
  const knownKeys = fc.constantFrom(
    'CallSid',
    'CallStatus',
    'AccountSid',
    'From',
    'To',
    'Caller',
    'Called',
    'Direction',
    'Timestamp',
    'SequenceNumber',
    'CallDuration',
    'AnsweredBy',
    'RecordingSid',
    'RecordingStatus',
    'RecordingUrl',
    'RecordingDuration',
    'RecordingStartTime',
    'MachineDetectionDuration',
    'SipResponseCode',
    '__proto__',
    'constructor',
  );
  const value = fc.oneof(
    fc.string(),
    fc.constantFrom(
      'CA1',
      'RE1',
      'completed',
      'ringing',
      'in-progress',
      'absent',
      'human',
      '12',
      '-1',
    ),
    fc.constantFrom('Sun, 25 Mar 2018 09:53:19 +0000', '+14155550100', 'x'.repeat(300)),
    fc.anything(),
  );
  const params = fc.oneof(fc.dictionary(fc.oneof(knownKeys, fc.string()), value), fc.anything());

  it('throws nothing but a CallTrackError, and every event it returns is a valid CallEvent', () => {
    fc.assert(
      fc.property(
        params,
        fc.option(fc.constantFrom('status', 'recording', 'amd'), { nil: undefined }),
        (input, kind) => {
          try {
            const events = parseTwilioWebhook({ params: input as never, tenant, kind });
            for (const event of events) expect(parseCallEvent(event)).toEqual(event);
          } catch (error) {
            if (!CallTrackError.isInstance(error)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

import { InvalidPayloadError } from '@calltrack/core';
import { createFixtureLoader } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { parseCallerDeskWebhookPayload } from './parse-callerdesk-webhook-payload';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

describe('parseCallerDeskWebhookPayload', () => {
  it('validates a call report', () => {
    const { json } = loadFixture('callerdesk-call-report-incoming-answered.json');
    const payload = parseCallerDeskWebhookPayload(json);
    expect(payload).toMatchObject({
      kind: 'report',
      callId: '1714625130.960123',
      status: 'ANSWER',
      startedAt: '2024-05-02T04:45:30.000Z',
      endedAt: '2024-05-02T04:46:35.000Z',
      fields: { Direction: 'IVR', TalkDuration: '48', error_code: undefined },
    });
    expect(payload.body).toBe(json);
  });

  it('detects a live call payload', () => {
    const payload = parseCallerDeskWebhookPayload(
      loadFixture('callerdesk-live-call-incoming-ringing.json').json,
    );
    expect(payload).toMatchObject({ kind: 'live', endedAt: undefined });
  });

  it('turns JSON numbers into strings and drops empty values', () => {
    const payload = parseCallerDeskWebhookPayload({
      CallSid: 1714625130.96,
      Status: 'ANSWER',
      TalkDuration: 48,
      CallRecordingUrl: '  ',
      campid: null,
      coins: 'NULL',
    });
    expect(payload.fields).toMatchObject({
      CallSid: '1714625130.96',
      TalkDuration: '48',
      CallRecordingUrl: undefined,
      campid: undefined,
      coins: undefined,
    });
    expect(payload.kind).toBe('report');
  });

  it('keeps a field named __proto__ as data', () => {
    const body = JSON.parse('{"CallSid":"1.1","Status":"ANSWER","__proto__":{"polluted":true}}');
    const payload = parseCallerDeskWebhookPayload(body);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(payload.fields)).toBe(Object.prototype);
  });

  it.each([
    [null, 'must be an object'],
    ['CallSid=1', 'must be an object'],
    [{ Status: 'ANSWER' }, '"CallSid" is required'],
    [{ CallSid: '1.1' }, '"Status" is required'],
    [{ CallSid: '1.1', Status: ['ANSWER'] }, '"Status" is invalid'],
    [{ CallSid: '1.1', Status: 'ANSWER', StartTime: 'now' }, '"StartTime"'],
  ])('refuses %j', (value, message) => {
    expect(() => parseCallerDeskWebhookPayload(value)).toThrow(InvalidPayloadError);
    expect(() => parseCallerDeskWebhookPayload(value)).toThrow(message);
  });
});

import { describe, expect, it } from 'vitest';
import { createCallScript } from './create-call-script';
import { demoLines } from './demo-lines';
import { endTwilioCallScript } from './end-twilio-call-script';
import { scriptedCallTimeline } from './scripted-call-timeline';

const line = demoLines[0]!;

function params(ending: ReturnType<typeof endTwilioCallScript>, index = 0) {
  const payload = ending!.webhooks[index]!.payload;
  if (payload.type !== 'form') throw new Error('not a form');
  return payload.params;
}

describe('endTwilioCallScript', () => {
  it('ends a connected call completed, with the talk time so far and the next sequence number', () => {
    const script = createCallScript({
      line,
      outcome: 'completed',
      seed: 11,
      direction: 'outbound',
      talkDurationMs: 600_000,
      machineDetection: false,
      recording: true,
    });
    const answeredAt = scriptedCallTimeline(script).answeredAtMs!;
    const ending = endTwilioCallScript(script, answeredAt + 42_400);
    expect(ending).toMatchObject({
      status: 'completed',
      providerStatus: 'completed',
      talkDurationMs: 42_000,
      endedAtMs: answeredAt + 42_400,
    });
    expect(params(ending)).toMatchObject({
      CallSid: script.callId,
      CallStatus: 'completed',
      CallDuration: '42',
      Duration: '1',
      SequenceNumber: '3',
      Direction: 'outbound-api',
    });
    expect(params(ending).SipResponseCode).toBeUndefined();
    expect(ending!.webhooks.map((webhook) => webhook.kind)).toEqual([
      'status:completed',
      'recording',
    ]);
    expect(params(ending, 1).RecordingDuration).toBe('42');
  });

  it('cancels a call that is still ringing (SIP 487), and leaves an ended call alone', () => {
    const script = createCallScript({ line, outcome: 'no-answer', seed: 3 });
    const { ringingAtMs, endedAtMs } = scriptedCallTimeline(script);
    const ending = endTwilioCallScript(script, ringingAtMs! + 1000);
    expect(ending).toMatchObject({ status: 'canceled', talkDurationMs: 0 });
    expect(params(ending)).toMatchObject({
      CallStatus: 'canceled',
      SipResponseCode: '487',
      CallDuration: '0',
      SequenceNumber: '2',
    });
    expect(endTwilioCallScript(script, endedAtMs)).toBeUndefined();
  });

  it('keeps the machine-detection verdict once it was made', () => {
    const script = createCallScript({
      line,
      outcome: 'voicemail',
      seed: 4,
      talkDurationMs: 60_000,
    });
    const detection = script.webhooks.find((webhook) => webhook.kind === 'amd')!;
    const ending = endTwilioCallScript(script, detection.atMs + 10);
    expect(params(ending).AnsweredBy).toMatch(/^machine_end_/);
  });
});

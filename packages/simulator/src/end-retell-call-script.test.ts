import { describe, expect, it } from 'vitest';
import { createCallScript } from './create-call-script';
import { demoLines } from './demo-lines';
import { endRetellCallScript } from './end-retell-call-script';
import { scriptedCallTimeline } from './scripted-call-timeline';

const line = demoLines[2]!;

function callOf(ending: ReturnType<typeof endRetellCallScript>, index: number) {
  const payload = ending!.webhooks[index]!.payload;
  if (payload.type !== 'json') throw new Error('not JSON');
  return JSON.parse(payload.body) as { event: string; call: Record<string, unknown> };
}

describe('endRetellCallScript', () => {
  it('stops a connected call: manual_stopped, the duration so far, then the analysis', () => {
    const script = createCallScript({
      line,
      outcome: 'completed',
      seed: 8,
      direction: 'outbound',
      talkDurationMs: 600_000,
    });
    const connectedAt = scriptedCallTimeline(script).answeredAtMs!;
    const ending = endRetellCallScript(script, connectedAt + 20_000);
    expect(ending).toMatchObject({ status: 'completed', providerStatus: 'manual_stopped' });
    const ended = callOf(ending, 0);
    expect(ended.event).toBe('call_ended');
    expect(ended.call).toMatchObject({
      call_id: script.callId,
      call_status: 'ended',
      disconnection_reason: 'manual_stopped',
    });
    expect(ended.call.duration_ms).toBe(ending!.talkDurationMs);
    expect(ending!.talkDurationMs).toBeGreaterThan(19_000);
    expect(ending!.talkDurationMs).toBeLessThan(21_000);
    expect(callOf(ending, 1)).toMatchObject({
      event: 'call_analyzed',
      call: { call_analysis: { call_successful: false } },
    });
  });

  it('stops a call before it connected as not_connected (canceled), and leaves an ended one alone', () => {
    const script = createCallScript({ line, outcome: 'no-answer', seed: 9 });
    const ending = endRetellCallScript(script, 1000);
    expect(ending).toMatchObject({ status: 'canceled', talkDurationMs: 0 });
    expect(callOf(ending, 0).call).toMatchObject({
      call_status: 'not_connected',
      duration_ms: 0,
      disconnection_reason: 'manual_stopped',
    });
    expect(callOf(ending, 0).call.start_timestamp).toBeUndefined();
    expect(endRetellCallScript(script, script.endedAt - script.startedAt)).toBeUndefined();
  });
});

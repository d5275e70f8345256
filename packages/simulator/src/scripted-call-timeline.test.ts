import { describe, expect, it } from 'vitest';
import { createCallScript } from './create-call-script';
import { demoLines } from './demo-lines';
import { scriptedCallStatusAt, scriptedCallTimeline } from './scripted-call-timeline';

const [twilioLine, , retellLine, , callerDeskLine] = demoLines;

describe('scriptedCallTimeline', () => {
  it('reads ringing, answer and end from each provider’s webhooks', () => {
    for (const line of [twilioLine!, retellLine!, callerDeskLine!]) {
      const script = createCallScript({
        line,
        outcome: 'completed',
        seed: 5,
        direction: 'outbound',
      });
      const timeline = scriptedCallTimeline(script);
      expect(timeline.answeredAtMs, line.provider).toBeGreaterThan(0);
      expect(timeline.endedAtMs).toBe(script.endedAt - script.startedAt);
      expect(scriptedCallStatusAt(timeline, 0)).toBe('queued');
      expect(scriptedCallStatusAt(timeline, timeline.answeredAtMs!)).toBe('in-progress');
      expect(scriptedCallStatusAt(timeline, timeline.endedAtMs)).toBe('completed');
      if (timeline.ringingAtMs !== undefined) {
        expect(scriptedCallStatusAt(timeline, timeline.ringingAtMs)).toBe('ringing');
      }
    }
  });

  it('has no answer for a call that never connected', () => {
    const script = createCallScript({ line: twilioLine!, outcome: 'busy', seed: 2 });
    const timeline = scriptedCallTimeline(script);
    expect(timeline.answeredAtMs).toBeUndefined();
    expect(scriptedCallStatusAt(timeline, timeline.endedAtMs - 1)).toBe('ringing');
    expect(scriptedCallStatusAt(timeline, timeline.endedAtMs)).toBe('busy');
  });
});

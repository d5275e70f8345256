import { createMemoryBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { createCallTracker } from '@calltrack/tracker';
import { describe, expect, it } from 'vitest';
import { createCampaignRouter } from '../server/campaign-router';
import { t } from '../server/trpc';

/**
 * A tracker on a clock that moves a second with each call, fed `count` calls that ended
 * completed, one a second, every fourth answered by a machine; and the campaign router over it.
 */
async function campaignAfter(count: number) {
  let now = Date.parse('2026-12-07T12:00:00.000Z');
  const clock = { now: () => now };
  const tracker = createCallTracker({ bus: createMemoryBus(), clock });
  const ends: string[] = [];
  for (let index = 0; index < count; index += 1) {
    now += 1000;
    const at = new Date(now).toISOString();
    ends.push(at);
    const event: CallEvent = {
      id: `stats:${index}`,
      type: 'call.ended',
      tenantId: 'demo',
      provider: 'twilio',
      callId: `CA${index}`,
      direction: 'outbound',
      to: '+14155550100',
      status: 'completed',
      occurredAt: at,
      receivedAt: at,
      data: index % 4 === 0 ? { answeredBy: 'machine_end_beep' } : { durationMs: 30_000 },
    };
    await tracker.ingest(event);
  }
  const caller = t.createCallerFactory(
    t.router({ campaign: createCampaignRouter({ tracker, clock }) }),
  );
  return { stats: await caller({ tenantId: 'demo' }).campaign.stats(), ends };
}

describe('campaign.stats', () => {
  it('counts voicemail apart from completed, exactly, while the tracker lists every call of the day', async () => {
    const { stats } = await campaignAfter(1_000);
    expect(stats).toMatchObject({
      endedCalls: 1_000,
      voicemailCalls: 250,
      completedCalls: 750,
      voicemailCountedFrom: null,
    });
  });

  it('past the 1,000 ended calls the tracker lists, says from when voicemail is counted and keeps it in completed', async () => {
    const { stats, ends } = await campaignAfter(1_101);
    // The newest 1,000 are calls 101 to 1,100: 250 of them (104, 108, …, 1,100) machine-answered.
    expect(stats).toMatchObject({
      endedCalls: 1_101,
      voicemailCalls: 250,
      completedCalls: 1_101,
      voicemailCountedFrom: ends[101],
    });
  });
});

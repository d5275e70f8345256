import { createMemoryBus } from '@calltrack/bus';
import { makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallTimelineRecorder } from './create-call-timeline-recorder';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

describe('createCallTimelineRecorder', () => {
  it('keeps every call’s events, masked, and the latest alerts first', async () => {
    const bus = createMemoryBus();
    const recorder = createCallTimelineRecorder({ bus, tenantId: 'demo' });
    closers.push(
      () => bus.close(),
      () => recorder.close(),
    );
    await recorder.ready;
    await bus.publish(
      makeCallEvent({ tenantId: 'demo', callId: 'CA1', data: { from: '+14155550123' } }),
    );
    await bus.publish(makeCallEvent({ tenantId: 'other', callId: 'CA2' }));
    await bus.publish(
      makeCallEvent({
        tenantId: 'demo',
        type: 'alert.long_call',
        provider: 'calltrack',
        callId: 'CA1',
        data: { rule: 'long_call', message: 'A call has run 3 minutes.' },
      }),
    );
    await expect.poll(() => recorder.recentAlerts().length).toBe(1);
    expect(recorder.get('CA1')).toEqual([
      expect.objectContaining({
        type: 'call.ringing',
        data: { from: expect.stringMatching(/^\+14\D{6}123$/) },
      }),
    ]);
    expect(recorder.get('CA2')).toEqual([]);
  });

  it('catches up from history after falling behind, instead of going quiet', async () => {
    // A tiny buffer: publishing 30 events without yielding makes the recorder lag.
    const bus = createMemoryBus({ maxBufferedMessages: 4 });
    const recorder = createCallTimelineRecorder({ bus, tenantId: 'demo' });
    closers.push(
      () => bus.close(),
      () => recorder.close(),
    );
    await recorder.ready;
    await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        bus.publish(makeCallEvent({ tenantId: 'demo', callId: `CA-lag-${index}` })),
      ),
    );
    await expect
      .poll(() =>
        Array.from({ length: 30 }, (_, index) => recorder.get(`CA-lag-${index}`).length).every(
          (length) => length === 1,
        ),
      )
      .toBe(true);
    // And it still follows live events.
    await bus.publish(makeCallEvent({ tenantId: 'demo', callId: 'CA-after' }));
    await expect.poll(() => recorder.get('CA-after').length).toBe(1);
  });
});

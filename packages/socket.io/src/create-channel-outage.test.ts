import { describe, expect, it } from 'vitest';
import { createChannelOutage } from './create-channel-outage';

describe('createChannelOutage', () => {
  it('is not over while a channel still fails, however often others attach (a Cluster node down)', () => {
    const reported: string[] = [];
    let now = 0;
    const outage = createChannelOutage((error) => reported.push((error as Error).message), {
      now: () => now,
    });
    const working = {};
    const failing = {};
    outage.failed(failing, new Error('b: Redis cannot be reached'));
    for (let restart = 0; restart < 3; restart += 1) {
      now += 5_000;
      outage.attached(working);
      outage.failed(failing, new Error('again'));
    }
    expect(reported).toEqual(['b: Redis cannot be reached']);
    outage.attached(failing);
    expect(reported).toEqual([
      'b: Redis cannot be reached',
      'The bus subscriptions of the Socket.IO channels are back after 15.0 s and 4 failed restarts (only the first was reported).',
    ]);
  });

  it('outlives a channel that closed while failing, until a channel attaches', () => {
    const reported: string[] = [];
    const outage = createChannelOutage((error) => reported.push((error as Error).message));
    for (let channel = 0; channel < 3; channel += 1) {
      const closing = {};
      outage.failed(closing, new Error('down'));
      outage.closed(closing);
    }
    expect(reported).toEqual(['down']);
    outage.attached({});
    expect(reported).toHaveLength(2);
    expect(reported[1]).toMatch(/are back after .* and 3 failed restarts/);
    outage.attached({});
    expect(reported).toHaveLength(2);
  });
});

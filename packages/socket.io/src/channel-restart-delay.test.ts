import { describe, expect, it } from 'vitest';
import { channelRestartDelay } from './channel-restart-delay';

describe('channelRestartDelay', () => {
  it('restarts at once the first time, then backs off from 100 ms doubling up to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 50].map(channelRestartDelay)).toEqual([
      0, 100, 200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
  });
});

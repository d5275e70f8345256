import { describe, expect, it } from 'vitest';
import { defaultRetryDelay } from './retry-delay';

describe('defaultRetryDelay', () => {
  it('doubles from 1 s up to 30 s, each between half of it and all of it', () => {
    const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    for (const [index, ceiling] of ceilings.entries()) {
      for (let sample = 0; sample < 20; sample += 1) {
        const delay = defaultRetryDelay(index + 1, undefined);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(defaultRetryDelay(10_000, undefined)).toBeLessThanOrEqual(30_000);
  });

  it('waits what the server asked for, at most a minute', () => {
    expect(defaultRetryDelay(1, 7_000)).toBe(7_000);
    expect(defaultRetryDelay(5, 0)).toBe(0);
    expect(defaultRetryDelay(1, 3_600_000)).toBe(60_000);
    expect(defaultRetryDelay(1, Number.MAX_SAFE_INTEGER)).toBe(60_000);
  });
});

import { describe, expect, it } from 'vitest';
import { computeRetryDelay, defaultRetrySchedule, overloadPenaltyMs } from './retry-schedule';

const noJitter = () => 0.5;

describe('computeRetryDelay', () => {
  it('follows the schedule, then gives up', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((attempt) =>
      computeRetryDelay({
        schedule: defaultRetrySchedule,
        attempt,
        throttled: false,
        random: noJitter,
      }),
    );
    expect(delays).toEqual([...defaultRetrySchedule, undefined]);
  });

  it('applies at most ±20% jitter', () => {
    const low = computeRetryDelay({
      schedule: [100_000],
      attempt: 1,
      throttled: false,
      random: () => 0,
    });
    const high = computeRetryDelay({
      schedule: [100_000],
      attempt: 1,
      throttled: false,
      random: () => 0.999999,
    });
    expect(low).toBe(80_000);
    expect(high).toBeGreaterThan(119_990);
    expect(high).toBeLessThanOrEqual(120_000);
  });

  it('waits at least 60 s when throttled', () => {
    expect(
      computeRetryDelay({ schedule: [5_000], attempt: 1, throttled: true, random: noJitter }),
    ).toBe(overloadPenaltyMs);
    expect(
      computeRetryDelay({ schedule: [300_000], attempt: 1, throttled: true, random: noJitter }),
    ).toBe(300_000);
  });

  it('keeps a throttled wait at 60 s or more whatever the jitter', () => {
    const at = (random: () => number) =>
      computeRetryDelay({ schedule: [5_000], attempt: 1, throttled: true, random });
    expect(at(() => 0)).toBe(overloadPenaltyMs);
    expect(at(() => 0.999)).toBeGreaterThan(overloadPenaltyMs);
    expect(
      computeRetryDelay({ schedule: [300_000], attempt: 1, throttled: true, random: () => 0 }),
    ).toBe(240_000);
  });

  it('honours Retry-After within 1x to 2x the delay, and jitter never undercuts it', () => {
    const at = (retryAfterMs: number, random = noJitter) =>
      computeRetryDelay({ schedule: [300_000], attempt: 1, throttled: true, retryAfterMs, random });
    expect(at(400_000)).toBe(400_000);
    expect(at(10_000_000)).toBe(600_000);
    expect(at(1_000)).toBe(300_000);
    expect(at(400_000, () => 0)).toBe(400_000);
    expect(at(400_000, () => 0.999)).toBeGreaterThan(400_000);
  });
});

import { parseRetryAfterMs } from '@calltrack/core/internal';
import { describe, expect, it } from 'vitest';
import { defaultRetryDelay, type RetryDelay, retryDelayMs } from './retry-delay';

/** The default's backoff ceiling of each attempt from 1: 1 s doubling up to 30 s. */
const ceilings = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];

describe('defaultRetryDelay', () => {
  it('doubles from 1 s up to 30 s, each between half of it and all of it', () => {
    for (const [index, ceiling] of ceilings.entries()) {
      for (let sample = 0; sample < 20; sample += 1) {
        const delay = defaultRetryDelay(index + 1, undefined);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
    expect(defaultRetryDelay(10_000, undefined)).toBeLessThanOrEqual(30_000);
  });

  it('waits at least what the server asked for (read as at most a minute), spread over half again', () => {
    const samples = (attempt: number, retryAfterMs: number) =>
      Array.from({ length: 50 }, () => defaultRetryDelay(attempt, retryAfterMs));
    for (const delay of samples(1, 7_000)) {
      expect(delay).toBeGreaterThanOrEqual(7_000);
      expect(delay).toBeLessThanOrEqual(10_500);
    }
    for (const retryAfterMs of [3_600_000, Number.MAX_SAFE_INTEGER]) {
      for (const delay of samples(1, retryAfterMs)) {
        expect(delay).toBeGreaterThanOrEqual(60_000);
        expect(delay).toBeLessThanOrEqual(90_000);
      }
    }
    // Spread, so the tabs a proxy refused with the same Retry-After do not come back together.
    expect(new Set(samples(1, 7_000)).size).toBeGreaterThan(1);
  });

  it('never waits less than the backoff of the attempt, whatever the server asked for', () => {
    const past = parseRetryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(past).toBe(0);
    for (const retryAfterMs of [0, past, 10, -5, Number.NaN]) {
      for (const [index, ceiling] of ceilings.entries()) {
        const delay = defaultRetryDelay(index + 1, retryAfterMs);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling * 1.5);
      }
    }
  });
});

describe('retryDelayMs', () => {
  it("takes an app's own delay as it is, 0 included", () => {
    const recorded: Array<[number, number | undefined]> = [];
    const own: RetryDelay = (attempt, retryAfterMs) => {
      recorded.push([attempt, retryAfterMs]);
      return attempt === 1 ? 0 : 250;
    };
    expect(retryDelayMs(own, 1, 7_000)).toBe(0);
    expect(retryDelayMs(own, 2, undefined)).toBe(250);
    expect(recorded).toEqual([
      [1, 7_000],
      [2, undefined],
    ]);
  });

  it("falls back to the default for an app's delay that is no wait (NaN, Infinity, -1, not a number)", () => {
    const broken = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1, '5', null];
    for (const result of broken) {
      const own = (() => result) as unknown as RetryDelay;
      for (const [index, ceiling] of ceilings.entries()) {
        const delay = retryDelayMs(own, index + 1, undefined);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
      expect(retryDelayMs(own, 1, 7_000)).toBeGreaterThanOrEqual(7_000);
    }
  });

  it('keeps a very long delay within what setTimeout can wait (a longer one fires at once)', () => {
    expect(retryDelayMs(() => 1e12, 1, undefined)).toBe(2 ** 31 - 1);
  });
});

import { describe, expect, it } from 'vitest';
import { checkTimerDelayMs } from './check-timer-delay-ms';

describe('checkTimerDelayMs', () => {
  it('answers the value, or the fallback when there is none', () => {
    expect(checkTimerDelayMs('make', 'waitMs', 250, 1000)).toBe(250);
    expect(checkTimerDelayMs('make', 'waitMs', undefined, 1000)).toBe(1000);
    expect(checkTimerDelayMs('make', 'waitMs', 2 ** 31 - 1, 1000)).toBe(2 ** 31 - 1);
    expect(checkTimerDelayMs('make', 'waitMs', 0, 1000, 0)).toBe(0);
  });

  it('refuses what a timer cannot wait, naming the option and its range', () => {
    for (const value of [2 ** 31, 1e12, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkTimerDelayMs('make', 'waitMs', value, 1000)).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          status: 400,
          message: 'make: waitMs must be an integer from 1 to 2147483647.',
        }),
      );
    }
    expect(() => checkTimerDelayMs('make', 'offMs', -1, 0, 0)).toThrow(
      'make: offMs must be an integer from 0 to 2147483647.',
    );
  });
});

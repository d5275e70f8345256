import { describe, expect, it } from 'vitest';
import { parseRetryAfterMs } from './parse-retry-after-ms';

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads delay-seconds, rounded up to whole seconds, with whitespace around', () => {
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs('1.2', now)).toBe(2_000);
    expect(parseRetryAfterMs('0.001', now)).toBe(1_000);
    expect(parseRetryAfterMs('0', now)).toBe(0);
    expect(parseRetryAfterMs('007', now)).toBe(7_000);
    expect(parseRetryAfterMs(' \t7 ', now)).toBe(7_000);
    // A huge one is read as it is: whoever schedules with it caps it.
    expect(parseRetryAfterMs('86400000', now)).toBe(86_400_000_000);
    // One too long for a double (Number() reads Infinity) is still a number to schedule with.
    expect(parseRetryAfterMs('9'.repeat(400), now)).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseRetryAfterMs(`${'9'.repeat(400)}.5`, now)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads an HTTP date as the milliseconds until then, never negative', () => {
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:02:00 GMT', now)).toBe(120_000);
    expect(parseRetryAfterMs(' Thu, 01 Jan 2026 00:02:00 GMT ', now)).toBe(120_000);
    // To the millisecond: a retry lands on the date asked for, not up to a second after it.
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:02:00 GMT', now + 400)).toBe(119_600);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    for (const value of [
      null,
      undefined,
      '',
      '  ',
      'soon',
      '-5',
      '-0',
      '+5',
      '.5',
      '5.',
      '1e3',
      '0x10',
      '1 2',
      '7 s',
      'Thu, 99 Jan 2026',
    ]) {
      expect(parseRetryAfterMs(value, now)).toBeUndefined();
    }
  });
});

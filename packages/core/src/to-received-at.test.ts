import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors/invalid-argument-error';
import { toReceivedAt } from './to-received-at';

describe('toReceivedAt', () => {
  it('accepts a Date, an ISO string and epoch milliseconds', () => {
    const iso = '2026-11-21T10:00:00.000Z';
    expect(toReceivedAt(new Date(iso))).toBe(iso);
    expect(toReceivedAt('2026-11-21T15:30:00+05:30')).toBe(iso);
    expect(toReceivedAt(Date.parse(iso))).toBe(iso);
  });

  it('is now when no value is given', () => {
    const before = Date.now();
    const received = Date.parse(toReceivedAt(undefined));
    expect(received).toBeGreaterThanOrEqual(before);
    expect(received).toBeLessThanOrEqual(Date.now());
  });

  it.each([['yesterday'], [Number.NaN], [-1], [Date.UTC(10000, 0, 1)]])(
    'rejects %s with InvalidArgumentError',
    (value) => {
      expect(() => toReceivedAt(value)).toThrow(InvalidArgumentError);
    },
  );
});

import { describe, expect, it, vi } from 'vitest';
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

  it('follows the clock: the same text within a millisecond, the next one after', () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-21T10:00:00.000Z') });
    try {
      expect(toReceivedAt(undefined)).toBe('2026-11-21T10:00:00.000Z');
      expect(toReceivedAt(undefined)).toBe('2026-11-21T10:00:00.000Z');
      vi.advanceTimersByTime(1);
      expect(toReceivedAt(undefined)).toBe('2026-11-21T10:00:00.001Z');
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([['yesterday'], [Number.NaN], [-1], [Date.UTC(10000, 0, 1)]])(
    'rejects %s with InvalidArgumentError',
    (value) => {
      expect(() => toReceivedAt(value)).toThrow(InvalidArgumentError);
    },
  );
});

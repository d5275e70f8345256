import { InvalidArgumentError } from '@calltrack/core';
import { describe, expect, it } from 'vitest';
import { maxAnalyticsBuckets, resolveAnalyticsRange } from './analytics-range';

const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
/** 2026-11-21T10:17:30.250Z: inside a minute, an hour and a day. */
const now = Date.parse('2026-11-21T10:17:30.250Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('resolveAnalyticsRange', () => {
  it('defaults to the last 24 hours by hour, ending with the bucket now falls in', () => {
    const range = resolveAnalyticsRange({}, now);
    expect(range.granularity).toBe('hour');
    expect(iso(range.to)).toBe('2026-11-21T11:00:00.000Z');
    expect(iso(range.from)).toBe('2026-11-20T10:00:00.000Z');
    expect(range.lookbackFrom).toBe(range.from - 72 * hour);
  });

  it('covers an hour of minutes and 30 days of days by default', () => {
    const minutes = resolveAnalyticsRange({ granularity: 'minute' }, now);
    expect(iso(minutes.to)).toBe('2026-11-21T10:18:00.000Z');
    expect(iso(minutes.from)).toBe('2026-11-21T09:17:00.000Z');
    expect(minutes.lookbackFrom).toBe(minutes.from - 240 * minute);
    const days = resolveAnalyticsRange({ granularity: 'day' }, now);
    expect(iso(days.to)).toBe('2026-11-22T00:00:00.000Z');
    expect((days.to - days.from) / day).toBe(31);
    expect(days.lookbackFrom).toBe(days.from - 14 * day);
  });

  it('rounds from down and to up to bucket bounds, and reads ISO strings, Dates and ms', () => {
    const fromText = resolveAnalyticsRange(
      { from: '2026-11-21T08:59:59.999Z', to: new Date('2026-11-21T10:00:00.001Z') },
      now,
    );
    expect([iso(fromText.from), iso(fromText.to)]).toEqual([
      '2026-11-21T08:00:00.000Z',
      '2026-11-21T11:00:00.000Z',
    ]);
    // `to` is exclusive: a bucket boundary stays where it is.
    const exact = resolveAnalyticsRange(
      { from: now - 2 * hour, to: Date.parse('2026-11-21T10:00:00Z') },
      now,
    );
    expect(iso(exact.to)).toBe('2026-11-21T10:00:00.000Z');
  });

  it('refuses what it cannot read, an empty range and too many buckets, with InvalidArgumentError', () => {
    const refused = (options: unknown) => {
      try {
        resolveAnalyticsRange(options as never, now);
      } catch (error) {
        expect(InvalidArgumentError.isInstance(error)).toBe(true);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(options)}`);
    };
    expect(refused(null)).toMatch(/takes/);
    expect(refused({ granularity: 'week' })).toMatch(/granularity/);
    expect(refused({ from: 'yesterday' })).toMatch(/`from`/);
    expect(refused({ to: '' })).toMatch(/`to`/);
    // Read in the server's time zone by Date.parse: refused, not read differently per server.
    expect(refused({ from: '2026-11-21T08:00' })).toMatch(/`from`/);
    expect(refused({ to: 'Nov 21 2026' })).toMatch(/`to`/);
    expect(refused({ from: Number.NaN })).toMatch(/`from`/);
    expect(refused({ from: now, to: now - hour })).toMatch(/before/);
    expect(refused({ from: 0, granularity: 'minute' })).toMatch(/2000 minute buckets/);
    expect(() =>
      resolveAnalyticsRange(
        { from: now - (maxAnalyticsBuckets - 1) * minute, granularity: 'minute' },
        now,
      ),
    ).not.toThrow();
  });
});

import { InvalidArgumentError } from '@calltrack/core';
import {
  type AnalyticsGranularity,
  analyticsBucketMs,
  analyticsBucketStart,
  analyticsGranularities,
} from './analytics-granularity';
import type { GetAnalyticsOptions } from './call-tracker';
import { parseIsoTime } from './parse-iso-time';

/** The most buckets one `getAnalytics` query may span. */
export const maxAnalyticsBuckets = 2000;

const hour = 3_600_000;
const day = 24 * hour;

/** What `getAnalytics` covers without a `from`: a screenful of buckets of each size. */
const defaultSpanMs: Readonly<Record<AnalyticsGranularity, number>> = {
  minute: hour,
  hour: day,
  day: 30 * day,
};

/**
 * How many buckets before `from` are read to learn the active-call level the range opens with
 * (the last bucket with a change before the range). A range that opens after a longer quiet
 * spell opens at 0.
 */
const lookbackBuckets: Readonly<Record<AnalyticsGranularity, number>> = {
  minute: 240,
  hour: 72,
  day: 14,
};

/** The buckets a `getAnalytics` query reads, aligned to bucket boundaries. */
export interface AnalyticsRange {
  granularity: AnalyticsGranularity;
  /** Start of the first bucket (inclusive), ms. */
  from: number;
  /** End of the last bucket (exclusive), ms. */
  to: number;
  /** Where to start looking for the level the range opens with, ms. */
  lookbackFrom: number;
}

/**
 * Turns `getAnalytics` options into aligned bucket bounds: `granularity` defaults to `hour`;
 * `to` defaults to `now` and is rounded up to a bucket end; `from` defaults to `to` minus the
 * granularity's default span and is rounded down to a bucket start. Throws
 * `InvalidArgumentError` for an unknown granularity, a time that cannot be read, an empty range
 * or one of more than {@link maxAnalyticsBuckets} buckets.
 */
export function resolveAnalyticsRange(
  options: GetAnalyticsOptions | undefined,
  now: number,
): AnalyticsRange {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'getAnalytics takes { from?, to?, granularity? }.' });
  }
  const granularity = options.granularity ?? 'hour';
  if (!analyticsGranularities.includes(granularity)) {
    throw new InvalidArgumentError({ message: 'granularity must be "minute", "hour" or "day".' });
  }
  const size = analyticsBucketMs[granularity];
  const toRaw = options.to === undefined ? now + 1 : toTime(options.to, 'to');
  const fromRaw =
    options.from === undefined ? toRaw - defaultSpanMs[granularity] : toTime(options.from, 'from');
  const from = analyticsBucketStart(granularity, fromRaw);
  const to = analyticsBucketStart(granularity, toRaw - 1) + size;
  if (!(from < to)) throw new InvalidArgumentError({ message: '`from` must be before `to`.' });
  if ((to - from) / size > maxAnalyticsBuckets) {
    throw new InvalidArgumentError({
      message: `That range holds more than ${maxAnalyticsBuckets} ${granularity} buckets; use a coarser granularity or a shorter range.`,
    });
  }
  return { granularity, from, to, lookbackFrom: from - lookbackBuckets[granularity] * size };
}

/** An ISO 8601 string (a date, or a time with its zone), a `Date` or ms since the epoch, as ms. */
function toTime(value: string | number | Date, name: string): number {
  const time =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? value
        : typeof value === 'string'
          ? parseIsoTime(value)
          : Number.NaN;
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError({
      message: `\`${name}\` must be an ISO 8601 date or time with its zone (Z or ±hh:mm), a Date or milliseconds since the epoch.`,
    });
  }
  return time;
}

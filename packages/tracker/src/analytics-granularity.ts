import type { AnalyticsGranularity } from '@calltrack/core';

export type { AnalyticsGranularity };

/** Every granularity, smallest first. */
export const analyticsGranularities: readonly AnalyticsGranularity[] = ['minute', 'hour', 'day'];

/** The length of one bucket, in milliseconds. */
export const analyticsBucketMs: Readonly<Record<AnalyticsGranularity, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** The start of the bucket `at` falls in. */
export function analyticsBucketStart(granularity: AnalyticsGranularity, at: number): number {
  const size = analyticsBucketMs[granularity];
  return at - (((at % size) + size) % size);
}

/**
 * Whether buckets of a granularity carry agent talk time. Minute buckets do not: they serve the
 * failed-call rate, and spreading each call's talk over every minute it spanned would cost a
 * write per minute.
 */
export const analyticsTracksAgentTime: Readonly<Record<AnalyticsGranularity, boolean>> = {
  minute: false,
  hour: true,
  day: true,
};

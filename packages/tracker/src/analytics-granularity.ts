/** The bucket sizes analytics are kept in. Buckets are aligned to UTC. */
export type AnalyticsGranularity = 'minute' | 'hour' | 'day';

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

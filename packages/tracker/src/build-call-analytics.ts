import type {
  CallAnalytics,
  CallAnalyticsBucket,
  CallAnalyticsFigures,
  CallStatus,
} from '@calltrack/core';
import { type AnalyticsGranularity, analyticsBucketMs } from './analytics-granularity';
import type { AnalyticsBucketData } from './call-store';

/** What {@link buildCallAnalytics} works from. */
export interface BuildCallAnalyticsInput {
  tenantId: string;
  granularity: AnalyticsGranularity;
  /** First bucket start (aligned). */
  from: number;
  /** End of the last bucket (aligned). */
  to: number;
  /** The tracker's clock: buckets after it are empty, the current one is partial. */
  now: number;
  capacity: number | undefined;
  /** Buckets with data in `[from, to)`. */
  buckets: readonly AnalyticsBucketData[];
  /** Active calls when the range starts (the level carried in from before `from`). */
  openingLevel: number;
}

/**
 * Turns raw buckets into figures. Concurrency is exact at every change: a bucket's peak is the
 * larger of the level it opened with and every level reached in it; a bucket without changes
 * keeps the level the previous one closed with.
 */
export function buildCallAnalytics(input: BuildCallAnalyticsInput): CallAnalytics {
  const size = analyticsBucketMs[input.granularity];
  const byStart = new Map(input.buckets.map((bucket) => [bucket.start, bucket]));
  const capacity = input.capacity ?? null;
  const buckets: CallAnalyticsBucket[] = [];
  let level = input.openingLevel;
  let agentTime = 0;
  const sums = {
    started: 0,
    ended: 0,
    answered: 0,
    durationMs: 0,
    agentTalkMs: 0,
    peak: 0,
    byStatus: {} as Partial<Record<CallStatus, number>>,
  };
  for (let start = input.from; start < input.to; start += size) {
    const data = byStart.get(start);
    let peak = 0;
    if (start <= input.now) {
      peak = level;
      if (data?.level !== undefined) {
        peak = Math.max(data.peak ?? 0, data.open ?? level);
        level = data.level;
      }
    }
    const length = Math.max(0, Math.min(size, input.now - start + 1));
    const agents = data?.agents ?? 0;
    const talk = data?.agentTalkMs ?? 0;
    const bucketAgentTime = agents * length;
    agentTime += bucketAgentTime;
    buckets.push({
      start: new Date(start).toISOString(),
      end: new Date(start + size).toISOString(),
      ...figures(
        {
          started: data?.started ?? 0,
          ended: data?.ended ?? 0,
          answered: data?.answered ?? 0,
          durationMs: data?.durationMs ?? 0,
          byStatus: data?.byStatus ?? {},
          peak,
          agentTalkMs: talk,
        },
        bucketAgentTime,
        capacity,
      ),
      activeAgents: agents,
    });
    sums.started += data?.started ?? 0;
    sums.ended += data?.ended ?? 0;
    sums.answered += data?.answered ?? 0;
    sums.durationMs += data?.durationMs ?? 0;
    sums.agentTalkMs += talk;
    sums.peak = Math.max(sums.peak, peak);
    for (const [status, count] of Object.entries(data?.byStatus ?? {})) {
      const key = status as CallStatus;
      sums.byStatus[key] = (sums.byStatus[key] ?? 0) + (count ?? 0);
    }
  }
  return {
    tenantId: input.tenantId,
    granularity: input.granularity,
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    capacity,
    buckets,
    totals: figures(sums, agentTime, capacity),
  };
}

function figures(
  sums: {
    started: number;
    ended: number;
    answered: number;
    durationMs: number;
    byStatus: Partial<Record<CallStatus, number>>;
    peak: number;
    agentTalkMs: number;
  },
  agentTime: number,
  capacity: number | null,
): CallAnalyticsFigures {
  return {
    startedCalls: sums.started,
    endedCalls: sums.ended,
    answeredCalls: sums.answered,
    endedByStatus: { ...sums.byStatus },
    failedRate: sums.ended > 0 ? (sums.byStatus.failed ?? 0) / sums.ended : null,
    averageDurationMs: sums.answered > 0 ? sums.durationMs / sums.answered : null,
    peakConcurrentCalls: sums.peak,
    capacityUtilization: capacity !== null && capacity > 0 ? sums.peak / capacity : null,
    agentTalkMs: sums.agentTalkMs,
    agentUtilization: agentTime > 0 ? Math.min(1, sums.agentTalkMs / agentTime) : null,
  };
}

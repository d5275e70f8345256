import type { CallStatus } from '@calltrack/core';

/**
 * Figures over a span of time, as the tracker's `GET /calls/analytics` answers them (the same
 * shape as `@calltrack/tracker`'s `CallAnalyticsFigures`, which the client does not need to
 * install).
 */
export interface CallAnalyticsFigures {
  startedCalls: number;
  endedCalls: number;
  answeredCalls: number;
  endedByStatus: Partial<Record<CallStatus, number>>;
  /** `failed` ended calls over all ended calls; null without ended calls. */
  failedRate: number | null;
  /** Average talk time of the answered ended calls; null without any. */
  averageDurationMs: number | null;
  peakConcurrentCalls: number;
  /** `peakConcurrentCalls / capacity`; null without a configured capacity. */
  capacityUtilization: number | null;
  agentTalkMs: number;
  agentUtilization: number | null;
}

/** One time bucket of {@link CallAnalytics}. */
export interface CallAnalyticsBucket extends CallAnalyticsFigures {
  /** Start (inclusive), ISO 8601 UTC. */
  start: string;
  /** End (exclusive). */
  end: string;
  activeAgents: number;
}

/** The bucket size of {@link CallAnalytics}. */
export type CallAnalyticsGranularity = 'minute' | 'hour' | 'day';

/** The tracker's analytics of a tenant over a range: what {@link useAnalytics} returns. */
export interface CallAnalytics {
  tenantId: string;
  granularity: CallAnalyticsGranularity;
  /** Start of the first bucket, ISO 8601. */
  from: string;
  /** End of the last bucket. */
  to: string;
  capacity: number | null;
  /** Every bucket of the range, oldest first, empty ones included. */
  buckets: CallAnalyticsBucket[];
  /** The whole range. */
  totals: CallAnalyticsFigures;
}

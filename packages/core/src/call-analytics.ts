import type { CallStatus } from './call-status';

/** The bucket sizes analytics are kept in. Buckets are aligned to UTC. */
export type AnalyticsGranularity = 'minute' | 'hour' | 'day';

/** Figures over a span of time (one bucket, or the whole query). */
export interface CallAnalyticsFigures {
  /**
   * Calls that became active, and calls first seen ended (a provider that sends only the final
   * status): those are counted in the bucket of their end.
   */
  startedCalls: number;
  /** Calls that ended. */
  endedCalls: number;
  /** Ended calls that were answered. */
  answeredCalls: number;
  /** Ended calls per terminal status. */
  endedByStatus: Partial<Record<CallStatus, number>>;
  /** `failed` ended calls over all ended calls; null without ended calls. */
  failedRate: number | null;
  /** Average talk time of the answered ended calls; null without any. */
  averageDurationMs: number | null;
  /** Most calls active at once. */
  peakConcurrentCalls: number;
  /** `peakConcurrentCalls / capacity`; null without a configured capacity. */
  capacityUtilization: number | null;
  /** Talk time of calls with an agent (split across the buckets the call spanned). */
  agentTalkMs: number;
  /**
   * Talk time over the time of the agents who talked: `agentTalkMs / (agents × bucket length)`
   * summed over buckets; null when no agent talked. Minute buckets carry no agent figures.
   */
  agentUtilization: number | null;
}

/** One time bucket. */
export interface CallAnalyticsBucket extends CallAnalyticsFigures {
  /** Start (inclusive), ISO 8601 UTC. */
  start: string;
  /** End (exclusive). */
  end: string;
  /** Distinct agents who talked in the bucket. */
  activeAgents: number;
}

/**
 * A tenant's call analytics over a range: what the tracker's `getAnalytics` returns and its
 * `GET /calls/analytics` answers (as JSON), so clients read it without the tracker.
 */
export interface CallAnalytics {
  tenantId: string;
  granularity: AnalyticsGranularity;
  /** Start of the first bucket. */
  from: string;
  /** End of the last bucket. */
  to: string;
  /** The configured capacity (concurrent calls) of the tenant, if any. */
  capacity: number | null;
  /** Every bucket of the range, oldest first, empty ones included. */
  buckets: CallAnalyticsBucket[];
  /** The whole range. */
  totals: CallAnalyticsFigures;
}

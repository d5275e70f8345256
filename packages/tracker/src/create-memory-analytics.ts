import type { CallStatus } from '@calltrack/core';
import {
  type AnalyticsGranularity,
  analyticsBucketMs,
  analyticsBucketStart,
  analyticsGranularities,
  analyticsTracksAgentTime,
} from './analytics-granularity';
import type { AnalyticsBucketData } from './call-store';
import type { CallTransitionSettings } from './call-transition';

interface MemoryBucket extends Omit<AnalyticsBucketData, 'agents'> {
  agents: Set<string>;
  expiresAt: number;
}

/** Analytics buckets of one tenant, in memory. */
export interface MemoryAnalytics {
  /** The tenant's active-call count changed to `level` (by `delta`, +1 or -1). */
  recordLevel(level: number, delta: 1 | -1, at: number, settings: CallTransitionSettings): void;
  /** A call ended; `neverActive`: it was first seen ended, so its end counts it as started too. */
  recordEnd(
    end: {
      status: CallStatus;
      durationMs: number;
      answered: boolean;
      agentId?: string;
      neverActive: boolean;
    },
    at: number,
    settings: CallTransitionSettings,
  ): void;
  read(granularity: AnalyticsGranularity, from: number, to: number): AnalyticsBucketData[];
}

/**
 * Keeps one tenant's analytics buckets (minute, hour, day) in memory with the same rules as
 * the Redis store's script. Expired buckets are dropped whenever a new one is opened.
 */
export function createMemoryAnalytics(): MemoryAnalytics {
  const buckets = new Map<string, MemoryBucket>();

  const bucketAt = (
    granularity: AnalyticsGranularity,
    start: number,
    at: number,
    settings: CallTransitionSettings,
  ): MemoryBucket => {
    const key = `${granularity}:${start}`;
    const expiresAt =
      start + analyticsBucketMs[granularity] + settings.analyticsRetentionMs[granularity];
    let bucket = buckets.get(key);
    if (!bucket) {
      for (const [otherKey, other] of buckets) if (other.expiresAt <= at) buckets.delete(otherKey);
      bucket = {
        start,
        started: 0,
        ended: 0,
        answered: 0,
        durationMs: 0,
        byStatus: {},
        agentTalkMs: 0,
        agents: new Set(),
        expiresAt,
      };
      buckets.set(key, bucket);
    }
    bucket.expiresAt = expiresAt;
    return bucket;
  };

  return {
    recordLevel(level, delta, at, settings) {
      for (const granularity of analyticsGranularities) {
        const bucket = bucketAt(granularity, analyticsBucketStart(granularity, at), at, settings);
        bucket.open ??= level - delta;
        bucket.level = level;
        if (bucket.peak === undefined || level > bucket.peak) bucket.peak = level;
        if (delta > 0) bucket.started += 1;
      }
    },

    recordEnd(end, at, settings) {
      for (const granularity of analyticsGranularities) {
        const bucket = bucketAt(granularity, analyticsBucketStart(granularity, at), at, settings);
        bucket.ended += 1;
        if (end.neverActive) bucket.started += 1;
        bucket.byStatus[end.status] = (bucket.byStatus[end.status] ?? 0) + 1;
        if (end.answered) {
          bucket.answered += 1;
          bucket.durationMs += end.durationMs;
        }
        if (!analyticsTracksAgentTime[granularity]) continue;
        if (end.agentId === undefined || end.durationMs <= 0) continue;
        const size = analyticsBucketMs[granularity];
        const from = Math.max(at - end.durationMs, at - settings.analyticsRetentionMs[granularity]);
        for (let start = analyticsBucketStart(granularity, from); start <= at; start += size) {
          const overlap = Math.min(at, start + size) - Math.max(from, start);
          if (overlap <= 0) continue;
          const talk = bucketAt(granularity, start, at, settings);
          talk.agentTalkMs += overlap;
          talk.agents.add(end.agentId);
        }
      }
    },

    read(granularity, from, to) {
      const size = analyticsBucketMs[granularity];
      const result: AnalyticsBucketData[] = [];
      for (let start = analyticsBucketStart(granularity, from); start < to; start += size) {
        if (start < from) continue;
        const bucket = buckets.get(`${granularity}:${start}`);
        if (!bucket) continue;
        const { agents, expiresAt: _expiresAt, byStatus, ...rest } = bucket;
        result.push({ ...rest, byStatus: { ...byStatus }, agents: agents.size });
      }
      return result;
    },
  };
}

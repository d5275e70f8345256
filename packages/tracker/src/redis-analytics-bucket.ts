import {
  type AnalyticsGranularity,
  analyticsBucketMs,
  analyticsBucketStart,
  analyticsGranularities,
  analyticsTracksAgentTime,
} from './analytics-granularity';
import type { AnalyticsBucketData } from './call-store';

/**
 * The layout of one analytics bucket in the Redis store: a hash at
 * `<prefix>:{<tenant>}:an:<granularity>:<start ms>` with the integer fields of
 * `AnalyticsBucketData` (`started`, `ended`, `answered`, `durationMs`, `agentTalkMs`, and `open`,
 * `level`, `peak` once the active-call level changed in the bucket), one `st:<status>` field per
 * terminal status counted, and a set `<bucket key>:agents` of the agents who talked in it. Both
 * expire with the bucket's retention. The buckets are written in batches from the tenant's log at
 * `<prefix>:{<tenant>}:an:log` (decision 0070): a reader folds the log first.
 */
export const redisAnalyticsBucketLayout = {
  /** Between the tenant's key base and `<granularity>:<start>`. */
  keyInfix: 'an:',
  /** Before each terminal status's count of ended calls. */
  endedStatusPrefix: 'st:',
  /** After the bucket key: the set of agents. */
  agentsSuffix: ':agents',
  /**
   * After the tenant's key base: the list of what happened and is not in the buckets yet
   * (`analytics-buckets-lua.ts`, decision 0070).
   */
  logKey: 'an:log',
  /** The log is folded into the buckets when it holds this many lines. */
  foldAfterRecords: 64,
} as const;

/** The key of a bucket, under the tenant's key base (`<prefix>:{<tenant>}:`). */
export function redisAnalyticsBucketKey(
  base: string,
  granularity: AnalyticsGranularity,
  start: number,
): string {
  return `${base}${redisAnalyticsBucketLayout.keyInfix}${granularity}:${start}`;
}

/**
 * The bucket keys a fold asked for by a step at `at` (the tracker's clock) declares before it
 * reads the log: the buckets of every granularity at `at` and a minute before, with their agents
 * sets where agent time is kept. The log holds the lines of the steps since the last fold, which
 * usually fall there, so one run folds them all; the fold names the keys of any other line (an
 * older one, talk time spread over earlier hours), for a run of its own.
 */
export function redisAnalyticsFoldKeys(base: string, at: number): string[] {
  const keys = new Set<string>();
  for (const time of [at - analyticsBucketMs.minute, at]) {
    for (const granularity of analyticsGranularities) {
      const key = redisAnalyticsBucketKey(
        base,
        granularity,
        analyticsBucketStart(granularity, time),
      );
      keys.add(key);
      if (analyticsTracksAgentTime[granularity]) {
        keys.add(`${key}${redisAnalyticsBucketLayout.agentsSuffix}`);
      }
    }
  }
  return [...keys];
}

/** Reads a bucket from its hash (`HGETALL`) and the size of its agent set (`SCARD`). */
export function decodeRedisAnalyticsBucket(
  start: number,
  fields: Record<string, string>,
  agents: number,
): AnalyticsBucketData {
  const count = (name: string): number => Number(fields[name] ?? 0);
  const byStatus: AnalyticsBucketData['byStatus'] = {};
  const { endedStatusPrefix } = redisAnalyticsBucketLayout;
  for (const [name, value] of Object.entries(fields)) {
    if (name.startsWith(endedStatusPrefix)) {
      Object.assign(byStatus, { [name.slice(endedStatusPrefix.length)]: Number(value) });
    }
  }
  const bucket: AnalyticsBucketData = {
    start,
    started: count('started'),
    ended: count('ended'),
    answered: count('answered'),
    durationMs: count('durationMs'),
    byStatus,
    agentTalkMs: count('agentTalkMs'),
    agents,
  };
  for (const name of ['open', 'level', 'peak'] as const) {
    if (fields[name] !== undefined) bucket[name] = Number(fields[name]);
  }
  return bucket;
}

import { InvalidArgumentError } from '@calltrack/core';
import type { AnalyticsGranularity } from './analytics-granularity';
import { parseIsoTime } from './parse-iso-time';

/**
 * Reads a query string, refusing with `InvalidArgumentError` (400) a parameter not in
 * `allowed`, one given twice and an empty one. `tenantId` is refused with a message of its own
 * unless allowed (it is only for principals with `allTenants`).
 */
export function readTrackerQuery(
  params: URLSearchParams,
  allowed: readonly string[],
): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of params) {
    if (!allowed.includes(name)) {
      throw new InvalidArgumentError({
        message:
          name === 'tenantId'
            ? 'tenantId is not a query parameter: the tenant comes from your credentials.'
            : `Unknown query parameter "${name}".`,
      });
    }
    if (name in query) throw new InvalidArgumentError({ message: `"${name}" was given twice.` });
    if (value === '') throw new InvalidArgumentError({ message: `"${name}" is empty.` });
    query[name] = value;
  }
  return query;
}

/** `limit`: an integer from 1 to `max`. */
export function parseLimitParam(value: string, max = 10_000): number {
  const limit = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= max)) {
    throw new InvalidArgumentError({ message: `"limit" must be an integer from 1 to ${max}.` });
  }
  return limit;
}

/**
 * `afterCallId` and `afterStartedAt` (an ISO 8601 time, as a call's `startedAt`), both or
 * neither: the last call of the previous page of active calls, as `listActiveCalls` takes it.
 */
export function parseAfterParams(
  query: Record<string, string>,
): { callId: string; startedAt: string } | undefined {
  const { afterCallId, afterStartedAt } = query;
  if (afterCallId === undefined && afterStartedAt === undefined) return undefined;
  if (afterCallId === undefined || afterStartedAt === undefined) {
    const missing = afterCallId === undefined ? 'afterCallId' : 'afterStartedAt';
    throw new InvalidArgumentError({
      message: `"${missing}" is missing: afterCallId and afterStartedAt (the previous page's last call) go together.`,
    });
  }
  if (!Number.isFinite(parseIsoTime(afterStartedAt))) {
    throw new InvalidArgumentError({
      message: '"afterStartedAt" must be an ISO 8601 time with its zone, as a call\'s startedAt.',
    });
  }
  return { callId: afterCallId, startedAt: afterStartedAt };
}

/** `granularity`: minute, hour or day; hour when absent. */
export function parseGranularityParam(value: string | undefined): AnalyticsGranularity {
  if (value === undefined) return 'hour';
  if (value === 'minute' || value === 'hour' || value === 'day') return value;
  throw new InvalidArgumentError({ message: '"granularity" must be minute, hour or day.' });
}

/** `from` / `to`: an ISO 8601 time (a date, or a time with its zone) or ms since the epoch. */
export function parseTimeParam(value: string, name: string): number {
  const time = /^\d{1,15}$/.test(value) ? Number(value) : parseIsoTime(value);
  if (!Number.isFinite(time)) {
    throw new InvalidArgumentError({
      message: `"${name}" must be an ISO 8601 date, or time with its zone (Z or ±hh:mm), or milliseconds since the epoch.`,
    });
  }
  return time;
}

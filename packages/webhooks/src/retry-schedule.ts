/**
 * Svix's schedule: after the first attempt fails, retry after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
 * and 10 h (8 attempts over about 27.6 hours), each delay with ±20% jitter.
 */
export const defaultRetrySchedule: readonly number[] = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
];

/** The least a throttled attempt (429, 502, 503, 504, a timeout) waits before the next: 60 s. */
export const overloadPenaltyMs = 60_000;

/** What {@link computeRetryDelay} needs to know about the attempt that failed. */
export interface RetryDelayInput {
  /** Delays after each failed attempt, in milliseconds; its length is the number of retries. */
  schedule: readonly number[];
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** The endpoint asked us to slow down (429, 502, 503, 504) or timed out. */
  throttled: boolean;
  /** What its `Retry-After` header asked for, in milliseconds. */
  retryAfterMs?: number;
  /** Jitter either way, as a fraction of the delay. Default 0.2. */
  jitter?: number;
  /** A number in [0, 1); default `Math.random`. */
  random?: () => number;
}

/**
 * How long to wait before the next attempt, or undefined when the schedule is exhausted. As Svix
 * does: the scheduled delay, raised to at least 60 s when throttled; a `Retry-After` is honoured
 * but clamped to between 1× and 2× that delay (a receiver cannot push a retry out by days, nor
 * pull it in); then jitter, never going below an honoured `Retry-After`, nor below 60 s when
 * throttled.
 */
export function computeRetryDelay(input: RetryDelayInput): number | undefined {
  const scheduled = input.schedule[input.attempt - 1];
  if (scheduled === undefined) return undefined;
  const base = input.throttled ? Math.max(scheduled, overloadPenaltyMs) : scheduled;
  const honoured =
    input.retryAfterMs === undefined
      ? undefined
      : Math.min(Math.max(input.retryAfterMs, base), 2 * base);
  const delay = honoured ?? base;
  const jitter = input.jitter ?? 0.2;
  const random = input.random ?? Math.random;
  const jittered = Math.round(delay * (1 + (random() * 2 - 1) * jitter));
  return Math.max(jittered, honoured ?? (input.throttled ? overloadPenaltyMs : 0));
}

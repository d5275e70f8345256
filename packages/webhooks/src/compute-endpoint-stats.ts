import type { WebhookAttempt } from './webhook-delivery';

/** How an endpoint did over a window. */
export interface EndpointStats {
  /** The window, in milliseconds, ending now. */
  windowMs: number;
  /** Start of the window (ISO 8601). */
  since: string;
  /** Attempts in the window (test sends excluded). */
  attempts: number;
  succeeded: number;
  failed: number;
  /** succeeded / attempts, from 0 to 1; null without attempts. */
  successRate: number | null;
  /** Attempt durations in milliseconds; null without attempts. */
  latencyMs: { p50: number; p95: number } | null;
  /** The most recent failure in the window. */
  lastError: { at: string; statusCode: number; message: string } | null;
  /** The most recent success in the window (ISO 8601). */
  lastSuccessAt: string | null;
}

/** Stats over attempts (newest first, as the log lists them) within `windowMs` before `now`. */
export function computeEndpointStats(
  attempts: readonly WebhookAttempt[],
  windowMs: number,
  now: number,
): EndpointStats {
  const counted = attempts.filter((attempt) => attempt.trigger !== 'test');
  const succeeded = counted.filter((attempt) => attempt.status === 'succeeded');
  const lastFailure = counted.find((attempt) => attempt.status === 'failed');
  const durations = counted.map((attempt) => attempt.durationMs).sort((a, b) => a - b);
  const percentile = (p: number): number =>
    durations[Math.min(durations.length - 1, Math.ceil(p * durations.length) - 1)]!;
  return {
    windowMs,
    since: new Date(now - windowMs).toISOString(),
    attempts: counted.length,
    succeeded: succeeded.length,
    failed: counted.length - succeeded.length,
    successRate: counted.length === 0 ? null : succeeded.length / counted.length,
    latencyMs: durations.length === 0 ? null : { p50: percentile(0.5), p95: percentile(0.95) },
    lastError: lastFailure
      ? {
          at: new Date(lastFailure.startedAt).toISOString(),
          statusCode: lastFailure.statusCode,
          message: lastFailure.error ?? '',
        }
      : null,
    lastSuccessAt: succeeded[0] ? new Date(succeeded[0].startedAt).toISOString() : null,
  };
}

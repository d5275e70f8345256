import { parseRetryAfterMs } from './parse-retry-after-ms';

/**
 * The longest wait {@link readRetryAfterSeconds} reads: a day, in seconds. Past the 20 hours the
 * outbound webhook dispatcher's default schedule honours at most; a longer `Retry-After` (a date
 * far ahead, hundreds of digits) is read as a day, a wait still long enough to say "not today".
 */
const maxRetryAfterSeconds = 86_400;

/**
 * When a provider's answer says to come back: the `Retry-After` header of a 429 (rate limited) or
 * 503 (unavailable) answer, as delay-seconds (rounded up) or an HTTP date (the whole seconds from
 * `now` until then, never negative), at most a day (86,400): always a whole number of seconds fit
 * to schedule with or to pass on as a header. Undefined for any other status, and when the header
 * is missing or unreadable. What the provider clients put in `ProviderApiError.retryAfterSeconds`.
 *
 * @example readRetryAfterSeconds(response) // 7 for a 429 with "Retry-After: 7"
 */
export function readRetryAfterSeconds(
  response: { status: number; headers: Headers },
  now: number = Date.now(),
): number | undefined {
  if (response.status !== 429 && response.status !== 503) return undefined;
  const ms = parseRetryAfterMs(response.headers.get('retry-after'), now);
  return ms === undefined ? undefined : toRetryAfterSeconds(ms / 1000);
}

/**
 * A wait in seconds as {@link readRetryAfterSeconds} reads one: rounded up, never negative, at
 * most a day (86,400), so always a whole number fit to pass on as a `Retry-After` header (never
 * `Infinity`, `-5` or `1e+21`). Undefined for anything that is not a number of seconds (`NaN`).
 * Errors that carry a wait (`ProviderApiError`, `RateLimitedError`) keep theirs by this rule,
 * whoever built them.
 * @internal
 */
export function toRetryAfterSeconds(seconds: unknown): number | undefined {
  if (typeof seconds !== 'number' || Number.isNaN(seconds)) return undefined;
  return Math.min(Math.max(Math.ceil(seconds), 0), maxRetryAfterSeconds);
}

/**
 * How long a transport waits before its `attempt`-th try in a row (1 for the first retry) to
 * reopen a stream the server refused or to load a snapshot that failed. `retryAfterMs` is what
 * the server asked for (`Retry-After`), when the transport could read it.
 */
export type RetryDelay = (attempt: number, retryAfterMs: number | undefined) => number;

const firstDelayMs = 1_000;
const longestDelayMs = 30_000;
/** A server asking for longer (a date far ahead, hours of seconds) still gets a try this often. */
const longestRetryAfterMs = 60_000;
/** The longest `setTimeout` can wait: a longer delay fires at once. */
const longestTimerMs = 2 ** 31 - 1;

/**
 * The transports' default: 1 s doubling up to 30 s, each a random delay between half of it and
 * all of it, so the tabs that a proxy refused at once do not all come back at once. With a
 * `Retry-After`, the longer of it (read as at most a minute) and that attempt's 1 s doubling,
 * plus up to half of it again at random: a `Retry-After: 0` or a date already past does not
 * make refused tabs retry in a hot loop, nor all at the same moment.
 */
export function defaultRetryDelay(attempt: number, retryAfterMs: number | undefined): number {
  const ceiling = Math.min(longestDelayMs, firstDelayMs * 2 ** Math.max(0, attempt - 1));
  if (retryAfterMs === undefined || !(retryAfterMs >= 0)) {
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
  const least = Math.max(ceiling, Math.min(retryAfterMs, longestRetryAfterMs));
  return least + Math.random() * (least / 2);
}

/**
 * The wait the transports use: `retryDelay`'s answer, or the default's when that is no wait
 * (not a number, NaN, infinite, negative; an app's bug must not retry in a hot loop), at most
 * what `setTimeout` can wait.
 */
export function retryDelayMs(
  retryDelay: RetryDelay,
  attempt: number,
  retryAfterMs: number | undefined,
): number {
  const delay: unknown = retryDelay(attempt, retryAfterMs);
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    return defaultRetryDelay(attempt, retryAfterMs);
  }
  return Math.min(delay, longestTimerMs);
}

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

/**
 * The transports' default: the server's `Retry-After` (at most a minute), else 1 s doubling up
 * to 30 s, each a random delay between half of it and all of it, so the tabs that a proxy
 * refused at once do not all come back at once.
 */
export function defaultRetryDelay(attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, longestRetryAfterMs);
  const ceiling = Math.min(longestDelayMs, firstDelayMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

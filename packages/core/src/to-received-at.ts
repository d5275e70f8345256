import { InvalidArgumentError } from './errors/invalid-argument-error';

/** The latest instant an ISO 8601 timestamp with a four-digit year can name. */
const maxTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const lastNow = { ms: Number.NaN, iso: '' };

/**
 * The `receivedAt` of events a parser builds: now when `value` is undefined, else `value` (a
 * `Date`, an ISO string or epoch milliseconds) as ISO 8601. Throws `InvalidArgumentError` for
 * anything that is not a date between 1970 and 9999.
 */
export function toReceivedAt(value: Date | string | number | undefined): string {
  if (value === undefined) {
    // Webhooks arriving within one millisecond get the same text, written once.
    const now = Date.now();
    if (now !== lastNow.ms) {
      lastNow.ms = now;
      lastNow.iso = new Date(now).toISOString();
    }
    return lastNow.iso;
  }
  const date = new Date(value);
  const time = date.getTime();
  if (!Number.isFinite(time) || time < 0 || time > maxTime) {
    throw new InvalidArgumentError({ message: 'receivedAt must be a valid date.' });
  }
  return date.toISOString();
}

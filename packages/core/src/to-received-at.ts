import { InvalidArgumentError } from './errors/invalid-argument-error';

/** The latest instant an ISO 8601 timestamp with a four-digit year can name. */
const maxTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * The `receivedAt` of events a parser builds: now when `value` is undefined, else `value` (a
 * `Date`, an ISO string or epoch milliseconds) as ISO 8601. Throws `InvalidArgumentError` for
 * anything that is not a date between 1970 and 9999.
 */
export function toReceivedAt(value: Date | string | number | undefined): string {
  const date = value === undefined ? new Date() : new Date(value);
  const time = date.getTime();
  if (!Number.isFinite(time) || time < 0 || time > maxTime) {
    throw new InvalidArgumentError({ message: 'receivedAt must be a valid date.' });
  }
  return date.toISOString();
}

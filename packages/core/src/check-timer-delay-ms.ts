import { InvalidArgumentError } from './errors/invalid-argument-error';

/**
 * The longest delay a timer waits (2^31 - 1 ms, about 24.8 days): Node runs a `setTimeout` with a
 * longer one after 1 ms, and a `setInterval` every millisecond.
 * @internal
 */
export const longestTimerDelayMs = 2 ** 31 - 1;

/**
 * Checks an option that becomes a timer's delay, when what uses it is made: a whole number of
 * milliseconds from `min` (0 where 0 turns the timer off) to 2^31 - 1. A longer delay would not
 * wait at all (see above). Returns the value, or `fallback` when it is undefined. The message
 * names the option: `<createdBy>: <option> must be an integer from <min> to 2147483647.`
 * @internal Shared by the packages whose options are timer delays (`@calltrack/sse`,
 * `@calltrack/socket.io`, `@calltrack/trpc`).
 */
export function checkTimerDelayMs(
  createdBy: string,
  option: string,
  value: number | undefined,
  fallback: number,
  min: 0 | 1 = 1,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > longestTimerDelayMs) {
    throw new InvalidArgumentError({
      message: `${createdBy}: ${option} must be an integer from ${min} to ${longestTimerDelayMs}.`,
    });
  }
  return value;
}

import { InvalidArgumentError } from './errors/invalid-argument-error';

/** The longest timeout `AbortSignal.timeout` takes, in milliseconds. */
const longestRequestTimeoutMs = 2 ** 32 - 1;

/**
 * Checks a provider client's `timeoutMs` when the client is made: what `AbortSignal.timeout`
 * takes, a positive whole number of milliseconds up to 2^32 - 1. Anything else would throw a
 * `RangeError` on every request instead of the client's own error. Messages start with
 * `createdBy`.
 */
export function checkRequestTimeoutMs(createdBy: string, timeoutMs: number): void {
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > longestRequestTimeoutMs) {
    throw new InvalidArgumentError({
      message: `${createdBy}: timeoutMs must be a positive whole number of milliseconds (at most 2^32 - 1).`,
    });
  }
}

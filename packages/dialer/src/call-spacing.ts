import { InvalidArgumentError } from '@calltrack/core';

/**
 * Milliseconds between two calls on an account at `callsPerSecond` (50 → 20 ms, 0.3 → 3,333.3 ms):
 * the pacers give each call its own slot this far after the previous one.
 */
export function callSpacingMs(callsPerSecond: number): number {
  if (
    !(typeof callsPerSecond === 'number' && callsPerSecond > 0 && Number.isFinite(callsPerSecond))
  ) {
    throw new InvalidArgumentError({
      message: `callsPerSecond must be a positive number, got ${String(callsPerSecond)}.`,
    });
  }
  return 1000 / callsPerSecond;
}

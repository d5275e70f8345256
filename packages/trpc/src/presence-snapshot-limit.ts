import { InvalidArgumentError } from '@calltrack/core';

/**
 * The `presenceSnapshotLimit` option checked: an integer from 1 to 10,000 (what
 * `createPresence()` lists at once), 1,000 when not given. `caller` names the function the app
 * called in the error.
 */
export function presenceSnapshotLimitOf(caller: string, value: number | undefined): number {
  if (value === undefined) return 1000;
  if (!Number.isSafeInteger(value) || value < 1 || value > 10_000) {
    throw new InvalidArgumentError({
      message: `${caller}: presenceSnapshotLimit must be an integer from 1 to 10000 (what presence lists at once).`,
    });
  }
  return value;
}

import type { CallSnapshot } from '@calltrack/core';

/**
 * What the tracker knows about one call: core's {@link CallSnapshot}, under the tracker's older
 * name.
 */
export type TrackedCall = CallSnapshot;

/** Active calls of one tenant, counted. */
export interface ActiveCallCount {
  /** Every active call of the tenant. */
  total: number;
  /** Active calls per branch; calls without a branch are counted only in `total`. */
  byBranch: Record<string, number>;
}

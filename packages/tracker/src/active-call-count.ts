/** Active calls of one tenant, counted. */
export interface ActiveCallCount {
  /** Every active call of the tenant. */
  total: number;
  /** Active calls per branch; calls without a branch are counted only in `total`. */
  byBranch: Record<string, number>;
}

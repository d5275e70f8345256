/** A lease on one key: held until it expires, is released, or is lost. */
export interface DialerLease {
  readonly key: string;
  /** The holder's random token: release and renewal act only while the key still holds it. */
  readonly token: string;
  /** Extends the lease to `ttlMs` from now; false when it was lost (expired and taken, or gone). */
  renew(ttlMs: number): Promise<boolean>;
  /** Releases the lease if still held (compare-and-delete); false when it was no longer held. */
  release(): Promise<boolean>;
}

/**
 * Leases for the dialer: one run per user, one worker per lead. They are **efficiency** locks:
 * they keep processes from doing the same work, but correctness (one call per lead) rests on the
 * store's claim, so an expired or lost lease costs work, never a second call.
 *
 * Built in: `createMemoryDialerLocks` (one process) and `createRedisDialerLocks` (many processes,
 * `@calltrack/dialer/redis`).
 */
export interface DialerLocks {
  /** Takes the key for `ttlMs` if nobody holds it. */
  acquire(key: string, ttlMs: number): Promise<DialerLease | undefined>;
  /** Asks the holder of `key` for one more run when it finishes (kept for `ttlMs`). */
  requestFollowUp(key: string, ttlMs: number): Promise<void>;
  /**
   * Keeps a pending follow-up request of `key` for `ttlMs` more from now; does nothing when
   * there is none (it never creates one). The holder calls it with each renewal of its lease,
   * so a request lives as long as the run it waits for, however long that is.
   */
  renewFollowUp(key: string, ttlMs: number): Promise<void>;
  /** Takes a pending follow-up request: true once per request. */
  takeFollowUp(key: string): Promise<boolean>;
}

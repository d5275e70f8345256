import type { DialerClock } from './dialer-clock';
import type { DialerLease } from './dialer-locks';

/** A lease being renewed in the background. */
export interface KeptLease {
  /**
   * Aborts when a renewal fails or finds the lease lost: stop starting new work. Its reason is
   * an `Error`; when the renewal threw, what it threw is the reason's `cause`.
   */
  readonly signal: AbortSignal;
  /** Stops renewing (does not release). */
  stop(): void;
}

/**
 * Renews `lease` every third of `ttlMs` by `clock`, then runs `afterRenewal` (what must live as
 * long as the lease; it handles its own errors). The first renewal that fails or answers "not
 * yours any more" aborts `signal` and stops: a holder that cannot prove it still holds the lease
 * stops claiming; whatever it already claimed is fenced by the store.
 */
export function keepLease(
  lease: DialerLease,
  ttlMs: number,
  clock: DialerClock,
  afterRenewal?: () => Promise<void>,
): KeptLease {
  const lost = new AbortController();
  const stopped = new AbortController();
  void (async () => {
    while (!stopped.signal.aborted) {
      await clock.sleep(ttlMs / 3, stopped.signal);
      if (stopped.signal.aborted) return;
      let renewed = false;
      let failure: { cause: unknown } | undefined;
      try {
        renewed = await lease.renew(ttlMs);
      } catch (error) {
        // Kept for the holder to log: "lost" alone hides a Redis outage or a broken store.
        failure = { cause: error };
      }
      if (!renewed) {
        lost.abort(
          new Error(
            failure === undefined
              ? `The lease on ${lease.key} was lost.`
              : `Renewing the lease on ${lease.key} failed; it counts as lost.`,
            failure,
          ),
        );
        return;
      }
      await afterRenewal?.();
    }
  })();
  return { signal: lost.signal, stop: () => stopped.abort() };
}

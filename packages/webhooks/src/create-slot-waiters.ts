/** What a waiting job is woken for: a delivery's hold (all its waiters), or one endpoint slot. */
export type SlotRelease = 'all' | 'one';

/**
 * The queued jobs running in this process that a store answered a wait (another attempt of
 * their delivery in flight, or their endpoint at its cap), so that a release made in this
 * process wakes them at once rather than at the end of their deferral (at most 1 s). A release
 * in another process is not seen here: the deferral stays the fallback.
 *
 * A job's life: `started` when the queue runs it; `waiting` when the store answers it a wait;
 * then `deferred` when its run ends in a deferral, or `ended` for any other outcome.
 */
export interface SlotWaiters {
  /** The queue runs a job (what it waited for before is forgotten). */
  started(jobId: string): void;
  /**
   * The store answered the job a wait for `key` (a delivery's hold or an endpoint's slots).
   * Ignored for a job the queue does not run here (a fan-out's direct first attempt, a test send).
   */
  waiting(jobId: string, key: string): void;
  /**
   * The job's run ended in a deferral. False when a release of what it waits for came while it
   * ran: the caller runs it again now. Else `onRelease` is called at the next release of it in
   * this process, if any comes (within `forgetAfterMs` when given: then its deferral is over and
   * the queue runs it again anyway, here or in another process).
   */
  deferred(jobId: string, onRelease: () => void, forgetAfterMs?: number): boolean;
  /** The job's run ended otherwise (done, retried later), or its deferral ran out. */
  ended(jobId: string): void;
  /** A release of `key` in this process: wakes its waiters, oldest first (`one`: the first). */
  release(key: string, count: SlotRelease): void;
  /** Forgets every job (the worker stops). */
  clear(): void;
}

interface WaitingJob {
  /** What it waits for. */
  key?: string;
  /** Woken while it ran (by a release of this key): its deferral is skipped. */
  wokenBy?: string;
  onRelease?: () => void;
  forgetTimer?: NodeJS.Timeout;
}

/** Creates {@link SlotWaiters} for one store's queue in this process. */
export function createSlotWaiters(): SlotWaiters {
  const jobs = new Map<string, WaitingJob>();
  // Job ids by what they wait for, in the order they were told to wait (a Set keeps it).
  const byKey = new Map<string, Set<string>>();

  const unlink = (jobId: string, waiting: WaitingJob): void => {
    if (waiting.key === undefined) return;
    const ids = byKey.get(waiting.key);
    ids?.delete(jobId);
    if (ids?.size === 0) byKey.delete(waiting.key);
    waiting.key = undefined;
  };

  const forget = (jobId: string): WaitingJob | undefined => {
    const waiting = jobs.get(jobId);
    if (!waiting) return undefined;
    unlink(jobId, waiting);
    if (waiting.forgetTimer) clearTimeout(waiting.forgetTimer);
    jobs.delete(jobId);
    return waiting;
  };

  const release = (key: string, count: SlotRelease): void => {
    const ids = byKey.get(key);
    if (!ids) return;
    for (const jobId of ids) {
      const waiting = jobs.get(jobId)!;
      if (waiting.onRelease) {
        forget(jobId);
        waiting.onRelease();
      } else {
        unlink(jobId, waiting);
        waiting.wokenBy = key;
      }
      if (count === 'one') return;
    }
  };

  return {
    started(jobId) {
      forget(jobId);
      jobs.set(jobId, {});
    },
    waiting(jobId, key) {
      const waiting = jobs.get(jobId);
      if (!waiting || waiting.onRelease) return;
      unlink(jobId, waiting);
      waiting.key = key;
      let ids = byKey.get(key);
      if (!ids) {
        ids = new Set();
        byKey.set(key, ids);
      }
      ids.add(jobId);
    },
    deferred(jobId, onRelease, forgetAfterMs) {
      const waiting = jobs.get(jobId);
      if (waiting?.wokenBy !== undefined) {
        waiting.wokenBy = undefined;
        return false;
      }
      if (waiting?.key === undefined) {
        // Deferred for something else (a rate limit, a failing store): nothing to wake it.
        forget(jobId);
        return true;
      }
      waiting.onRelease = onRelease;
      if (forgetAfterMs !== undefined) {
        waiting.forgetTimer = setTimeout(() => forget(jobId), forgetAfterMs);
        waiting.forgetTimer.unref();
      }
      return true;
    },
    ended(jobId) {
      const waiting = forget(jobId);
      // Woken while it ran, and not deferred after all (it found nothing to send): the slot it
      // was woken for goes to the next waiter.
      if (waiting?.wokenBy !== undefined) release(waiting.wokenBy, 'one');
    },
    release,
    clear() {
      for (const jobId of [...jobs.keys()]) forget(jobId);
    },
  };
}

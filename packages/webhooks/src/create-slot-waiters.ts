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
 *
 * A freed endpoint slot wakes one job, which carries the wake until it takes the slot (its
 * release then passes it on) or is answered a wait for that slot again (another took it). A job
 * that does neither (it finds its delivery done, its endpoint disabled, or waits for its
 * delivery instead) hands the wake to the next waiter, so one waiter that sends nothing does not
 * leave the others to their deferral.
 */
export interface SlotWaiters {
  /** The queue runs a job (what it waited for before is forgotten; a wake it carries is kept). */
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
   * the queue runs it again anyway, here or in another process; a woken job not started here
   * within as long again ran elsewhere, and the wake it carries is dropped).
   */
  deferred(jobId: string, onRelease: () => void, forgetAfterMs?: number): boolean;
  /** The job's run ended otherwise (done, retried later), or its deferral ran out. */
  ended(jobId: string): void;
  /**
   * A release of `key` in this process: wakes its waiters, oldest first (`one`: the first).
   * `holder`: the job whose slot this is, when it is one of the queue's; the wake it carried, if
   * any, is passed on by this release.
   */
  release(key: string, count: SlotRelease, holder?: string): void;
  /** Forgets every job (the worker stops). */
  clear(): void;
}

interface WaitingJob {
  /** What it waits for. */
  key?: string;
  /** Released while it ran (what it waited for): its deferral is skipped. */
  rerun?: boolean;
  /** A freed slot of this key it was woken for, and has neither taken nor passed on yet. */
  slotWake?: string;
  onRelease?: () => void;
  forgetAfterMs?: number;
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

  const forgetLater = (jobId: string, waiting: WaitingJob): void => {
    if (waiting.forgetTimer) clearTimeout(waiting.forgetTimer);
    waiting.forgetTimer = undefined;
    if (waiting.forgetAfterMs === undefined) return;
    waiting.forgetTimer = setTimeout(() => forget(jobId), waiting.forgetAfterMs);
    waiting.forgetTimer.unref();
  };

  const forget = (jobId: string): WaitingJob | undefined => {
    const waiting = jobs.get(jobId);
    if (!waiting) return undefined;
    unlink(jobId, waiting);
    if (waiting.forgetTimer) clearTimeout(waiting.forgetTimer);
    jobs.delete(jobId);
    return waiting;
  };

  /** Forgets a job whose run is over; a slot it was woken for and did not take goes on. */
  const end = (jobId: string): void => {
    const slotWake = forget(jobId)?.slotWake;
    if (slotWake !== undefined) release(slotWake, 'one');
  };

  const release = (key: string, count: SlotRelease, holder?: string): void => {
    if (holder !== undefined) {
      const releasing = jobs.get(holder);
      // It took the slot it was woken for: this release passes it on.
      if (releasing?.slotWake === key) releasing.slotWake = undefined;
    }
    const ids = byKey.get(key);
    if (!ids) return;
    for (const jobId of ids) {
      const waiting = jobs.get(jobId)!;
      const { onRelease } = waiting;
      if (onRelease && count === 'all') {
        forget(jobId);
        onRelease();
      } else {
        unlink(jobId, waiting);
        if (count === 'one') waiting.slotWake = key;
        if (onRelease) {
          // Kept until it runs again, for the wake it carries into that run.
          waiting.onRelease = undefined;
          forgetLater(jobId, waiting);
          onRelease();
        } else {
          waiting.rerun = true;
        }
      }
      if (count === 'one') return;
    }
  };

  return {
    started(jobId) {
      const slotWake = forget(jobId)?.slotWake;
      jobs.set(jobId, slotWake === undefined ? {} : { slotWake });
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
      const { slotWake } = waiting;
      waiting.slotWake = undefined;
      // Waiting for the very slot it was woken for: another took it, and that one's release
      // wakes the next. Waiting for its delivery instead: the slot is free for the next waiter.
      if (slotWake !== undefined && slotWake !== key) release(slotWake, 'one');
    },
    deferred(jobId, onRelease, forgetAfterMs) {
      const waiting = jobs.get(jobId);
      if (waiting?.rerun) {
        waiting.rerun = false;
        return false;
      }
      if (waiting?.key === undefined) {
        // Deferred for something else (a rate limit, a failing store): nothing to wake it.
        end(jobId);
        return true;
      }
      waiting.onRelease = onRelease;
      waiting.forgetAfterMs = forgetAfterMs;
      forgetLater(jobId, waiting);
      return true;
    },
    ended: end,
    release,
    clear() {
      for (const jobId of [...jobs.keys()]) forget(jobId);
    },
  };
}

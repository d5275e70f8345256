import type { Clock } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';

/** Jobs whose last run threw (a store step failed), with how long each waits before the next. */
export interface FailingJobs {
  /** A run of the job threw: reports it if no job was failing, and answers the wait in ms. */
  failed(jobId: string, error: unknown): number;
  /** A run of the job ended without throwing. */
  succeeded(jobId: string): void;
}

/** The first wait after a failed run, doubled after each further one up to {@link longestWaitMs}. */
const firstWaitMs = 1000;
const longestWaitMs = 60_000;
/**
 * A job that has not failed here for this long is forgotten: one still failing runs again within
 * the longest wait, so it has succeeded (perhaps in another process) or left the queue.
 */
const forgetAfterMs = 2 * longestWaitMs;
/** Jobs remembered at most (however many fail within {@link forgetAfterMs}). */
const rememberedJobs = 10_000;

/**
 * Backoff and reporting for queued jobs whose run throws: the store failed before or after the
 * request (Redis down, a script error), so the delivery is still pending and the job runs again.
 * Each job waits 1 s, then 2 s, 4 s… up to 60 s between runs, instead of resending every second
 * for as long as the fault lasts; an incident is reported once, with the first error. An incident
 * lasts while some job failed here within the last two minutes: on Redis a job's next run may be
 * in another process, so its success is never seen here, and a count left behind would double
 * the wait of the job's next, unrelated failure. (Ending it at any job's success would report a
 * fault that fails only some jobs, one endpoint's say, again at nearly every failure.)
 *
 * @param clock - Real time by default, as the queue's waits are.
 */
export function createFailingJobs(
  onError: (error: Error) => void,
  clock: Clock = { now: Date.now },
): FailingJobs {
  /** Each job's failed runs in a row and when the last was, least recently failed first. */
  const failures = new Map<string, { count: number; at: number }>();
  return {
    failed(jobId, error) {
      const at = clock.now();
      for (const [staleId, failure] of failures) {
        if (at - failure.at < forgetAfterMs) break;
        failures.delete(staleId);
      }
      const count = (failures.get(jobId)?.count ?? 0) + 1;
      if (failures.size === 0) {
        const cause = toError(error);
        onError(
          new Error(
            `A delivery job failed in the store (${cause.message}); it runs again, waiting from 1 s up to ${longestWaitMs / 1000} s between runs. Further failures are not reported until every failing job has succeeded or none has failed for ${forgetAfterMs / 1000} s.`,
            { cause },
          ),
        );
      }
      failures.delete(jobId);
      failures.set(jobId, { count, at });
      if (failures.size > rememberedJobs) failures.delete(failures.keys().next().value!);
      return Math.min(longestWaitMs, firstWaitMs * 2 ** (count - 1));
    },
    succeeded(jobId) {
      failures.delete(jobId);
    },
  };
}

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
/** Jobs remembered at most (a job removed from the queue while failing is never seen again). */
const rememberedJobs = 10_000;

/**
 * Backoff and reporting for queued jobs whose run throws: the store failed before or after the
 * request (Redis down, a script error), so the delivery is still pending and the job runs again.
 * Each job waits 1 s, then 2 s, 4 s… up to 60 s between runs, instead of resending every second
 * for as long as the fault lasts; an incident (from the first failing job until none is failing)
 * is reported once, with the first error.
 */
export function createFailingJobs(onError: (error: Error) => void): FailingJobs {
  const failures = new Map<string, number>();
  return {
    failed(jobId, error) {
      const count = (failures.get(jobId) ?? 0) + 1;
      if (failures.size === 0) {
        const cause = toError(error);
        onError(
          new Error(
            `A delivery job failed in the store (${cause.message}); it runs again, waiting from 1 s up to ${longestWaitMs / 1000} s between runs. Further failures are not reported until no job is failing.`,
            { cause },
          ),
        );
      }
      failures.delete(jobId);
      failures.set(jobId, count);
      if (failures.size > rememberedJobs) failures.delete(failures.keys().next().value!);
      return Math.min(longestWaitMs, firstWaitMs * 2 ** (count - 1));
    },
    succeeded(jobId) {
      failures.delete(jobId);
    },
  };
}

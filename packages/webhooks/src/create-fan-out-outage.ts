import type { Clock } from '@calltrack/core';
import { createOutageIncident, isOutageError, toError } from '@calltrack/core/internal';

/** What fan-out retries until it works: the batch of bus events, the saved cursors. */
export type RetriedFanOutStep = 'batch' | 'cursors';

/**
 * The failures of the dispatcher's fan-out (following the bus, creating and queueing deliveries,
 * saving cursors, direct first attempts) while Redis cannot be reached or refuses writes,
 * reported to `onError` as one incident: the first failure as the store gave it, then nothing
 * while the batch is retried (with backoff, for as long as the outage lasts) and cursor writes
 * fail, then one `Error` saying after how long and how many failures once a step works again and
 * no retried step still fails. Any other failure is a bug and is reported every time.
 */
export interface FanOutOutage {
  /** A step failed; `retried` names it when it is retried until it works. */
  failed(error: unknown, retried?: RetriedFanOutStep): void;
  /** A step worked; it ends the incident unless a retried step still fails. */
  worked(step?: RetriedFanOutStep): void;
}

/** Follows the fan-out of one dispatcher, reporting to `onError`. */
export function createFanOutOutage(onError: (error: Error) => void, clock?: Clock): FanOutOutage {
  const failing = new Set<RetriedFanOutStep>();
  const incident = createOutageIncident({
    back: 'Fanning bus events out to webhooks works again',
    failures: 'failures',
    clock,
  });
  return {
    failed(error, retried) {
      if (!isOutageError(error)) {
        onError(toError(error));
        return;
      }
      if (retried) failing.add(retried);
      if (incident.failed()) onError(toError(error));
    },
    worked(step) {
      if (step) failing.delete(step);
      if (failing.size > 0) return;
      const back = incident.end();
      if (back) onError(new Error(back));
    },
  };
}

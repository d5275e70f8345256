import type { Clock } from '@calltrack/core';
import { createOutageIncident, endedClientLine, toError } from '@calltrack/core/internal';

/** What fan-out retries until it works: the batch of bus events, the saved cursors. */
export type RetriedFanOutStep = 'batch' | 'cursors';

/**
 * The failures of the dispatcher's fan-out (following the bus, creating and queueing deliveries,
 * saving cursors, direct first attempts) while Redis cannot be reached or refuses writes,
 * reported to `onError` as one incident: the first failure as the store gave it, then nothing
 * while the batch is retried (with backoff, for as long as the outage lasts) and cursor writes
 * fail, then one `Error` saying after how long and how many failures once a step works again and
 * no retried step still fails. A store whose Redis client has ended (`redis_client_closed`: a
 * bug or a shutdown) fails every step alike: reported once, as an `Error` with core's
 * `endedClientLine` (its cause the store's error), until a step works. Any other failure is a bug
 * and is reported every time.
 */
export interface FanOutOutage {
  /** A step failed; `retried` names it when it is retried until it works. */
  failed(error: unknown, retried?: RetriedFanOutStep): void;
  /** A step worked; it ends the incident unless a retried step still fails. */
  worked(step?: RetriedFanOutStep): void;
}

/** Follows the fan-out of one dispatcher, reporting to `onError`. */
export function createFanOutOutage(onError: (error: Error) => void, clock?: Clock): FanOutOutage {
  const incident = createOutageIncident<RetriedFanOutStep>({
    back: 'Fanning bus events out to webhooks works again',
    failures: 'failures',
    clock,
    keyed: true,
  });
  return {
    failed(error, retried) {
      const failure = incident.runFailed(error, retried);
      if (failure === 'ended') {
        onError(new Error(endedClientLine('Webhook fan-out steps'), { cause: toError(error) }));
      } else if (failure !== 'counted') {
        onError(toError(error));
      }
    },
    worked(step) {
      const back = incident.runWorked(step);
      if (back) onError(new Error(back));
    },
  };
}

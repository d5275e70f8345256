import type { Clock } from '@calltrack/core';
import { createOutageIncident } from '@calltrack/core/internal';
import type { ReportError } from './call-track-socket-error-info';

/**
 * The restarts of an `attachCallTrack`'s channels that failed because Redis (or the bus) cannot
 * be reached, reported as one incident: the first failure as the channel reports it, then
 * nothing while restarts keep failing (each channel retries every 5 s, one channel per tenant
 * with a connection), then one `Error` once channels attach again, saying after how long and how
 * many failed restarts.
 *
 * The incident is over when every channel whose restart failed has attached again. A channel
 * that closes while failing (its last connection left) keeps it open until the next channel
 * attaches: the incident outlives the channel, so the tenant's next channel does not report it
 * again. A channel that is attached does not end it while another still fails, so with a Redis
 * Cluster node down the report does not flap between tenants whose channels work and those
 * whose channels fail.
 */
export interface ChannelOutage {
  /** `channel`'s restart failed with an outage; `first` is reported when this starts one. */
  failed(channel: object, first: Error): void;
  /** `channel`'s subscription attached. */
  attached(channel: object): void;
  /** `channel` closed for good: it will not restart. */
  closed(channel: object): void;
}

/** Follows the channel restarts of one `attachCallTrack`, reporting to `onError`. */
export function createChannelOutage(onError: ReportError, clock?: Clock): ChannelOutage {
  // Channels whose last restart failed. Those that closed since are left out: the incident stays
  // open without them, and the next channel to attach says whether the bus is back.
  const failing = new Set<object>();
  const incident = createOutageIncident({
    back: 'The bus subscriptions of the Socket.IO channels are back',
    failures: 'failed restarts',
    clock,
  });

  return {
    failed(channel, first) {
      failing.add(channel);
      if (incident.failed()) onError(first);
    },
    attached(channel) {
      failing.delete(channel);
      if (failing.size > 0) return;
      const back = incident.end();
      if (back) onError(new Error(back));
    },
    closed(channel) {
      failing.delete(channel);
    },
  };
}

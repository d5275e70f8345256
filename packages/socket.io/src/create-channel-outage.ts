import type { Clock } from '@calltrack/core';
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
  const time = clock ?? { now: Date.now };
  // Channels whose last restart failed. Those that closed since are left out: the incident stays
  // open without them, and the next channel to attach says whether the bus is back.
  const failing = new Set<object>();
  let incident: { since: number; failures: number } | undefined;

  return {
    failed(channel, first) {
      failing.add(channel);
      if (incident) {
        incident.failures += 1;
        return;
      }
      incident = { since: time.now(), failures: 1 };
      onError(first);
    },
    attached(channel) {
      failing.delete(channel);
      if (!incident || failing.size > 0) return;
      const seconds = ((time.now() - incident.since) / 1000).toFixed(1);
      const { failures } = incident;
      incident = undefined;
      onError(
        new Error(
          `The bus subscriptions of the Socket.IO channels are back after ${seconds} s and ${failures} failed restarts (only the first was reported).`,
        ),
      );
    },
    closed(channel) {
      failing.delete(channel);
    },
  };
}

import { createOutageIncident } from '@calltrack/core/internal';

/**
 * The presence heartbeats of one handler's streams (one per stream on each keepalive tick) that
 * failed because Redis cannot be reached or refuses commands, reported as one incident: the first
 * failure as presence gave it, then nothing while heartbeats keep failing, then one `Error` once
 * every stream whose heartbeat failed has heartbeated again, saying after how long and how many
 * failed heartbeats. Any other failure is a bug, reported every time. (Socket.IO's heartbeats
 * follow the same rule.)
 *
 * A stream that ends while failing stops holding the incident open; so does one whose heartbeat
 * was still waiting on Redis when it ended: that failure, told after `left`, is counted but holds
 * nothing open. A working stream does not end it while another still fails, so with a Redis
 * Cluster master down the report does not flap between tenants.
 */
export interface SseHeartbeatOutage {
  /** `stream`'s heartbeat failed with `error`: true when it is to be reported. */
  failed(stream: object, error: unknown): boolean;
  /** `stream`'s heartbeat worked: the line to report when that ended the incident. */
  worked(stream: object): string | undefined;
  /** `stream` ended: it heartbeats no more. */
  left(stream: object): void;
}

/** Follows the presence heartbeats of one handler's streams. */
export function createSseHeartbeatOutage(): SseHeartbeatOutage {
  // Weak: a stream that ended is not kept for the rest of the process.
  const gone = new WeakSet<object>();
  const incident = createOutageIncident<object>({
    back: 'Presence heartbeats of the SSE streams work again',
    failures: 'failed heartbeats',
    keyed: true,
  });
  return {
    failed(stream, error) {
      // Told after its stream ended: counted, holding nothing open.
      const key = gone.has(stream) ? undefined : stream;
      return incident.runFailed(error, key) !== 'counted';
    },
    worked: (stream) => incident.runWorked(stream),
    left(stream) {
      gone.add(stream);
      incident.forget(stream);
    },
  };
}

import type { Clock } from '@calltrack/core';
import { createOutageIncident } from '@calltrack/core/internal';
import type { CallTrackSocketErrorInfo, ReportError } from './call-track-socket-error-info';

/**
 * The presence heartbeats of an `attachCallTrack` (one per connection on each Engine.IO pong)
 * that failed because Redis cannot be reached or refuses commands, reported as one incident: the
 * first failure as presence gave it, then nothing while heartbeats keep failing, then one `Error`
 * once every connection whose heartbeat failed has heartbeated again, saying after how long and
 * how many failed heartbeats. Any other failure is a bug, reported every time.
 *
 * A connection that leaves while failing stops holding the incident open; the next heartbeat
 * that works ends it then. So does one whose heartbeat was still waiting on Redis when it left:
 * that heartbeat's failure, told after `left`, is counted but holds nothing open. A working
 * connection does not end it while another still fails, so with a Redis Cluster master down the
 * report does not flap between tenants.
 */
export interface HeartbeatOutage {
  /** `connection`'s heartbeat failed with `error`. */
  failed(connection: object, error: unknown, info: CallTrackSocketErrorInfo): void;
  /** `connection`'s heartbeat worked. */
  worked(connection: object): void;
  /** `connection` left: it heartbeats no more. */
  left(connection: object): void;
}

/** Follows the presence heartbeats of one `attachCallTrack`, reporting to `onError`. */
export function createHeartbeatOutage(onError: ReportError, clock?: Clock): HeartbeatOutage {
  // Weak: a connection that left is not kept for the rest of the process.
  const gone = new WeakSet<object>();
  const incident = createOutageIncident<object>({
    back: 'Presence heartbeats of the Socket.IO connections work again',
    failures: 'failed heartbeats',
    clock,
    keyed: true,
  });
  return {
    failed(connection, error, info) {
      // Told after its connection left: counted, holding nothing open.
      const key = gone.has(connection) ? undefined : connection;
      if (incident.runFailed(error, key) !== 'counted') onError(error, info);
    },
    worked(connection) {
      const back = incident.runWorked(connection);
      if (back) onError(new Error(back));
    },
    left(connection) {
      gone.add(connection);
      incident.forget(connection);
    },
  };
}

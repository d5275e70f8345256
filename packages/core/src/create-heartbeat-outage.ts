import type { Clock } from './clock';
import { createOutageIncident } from './create-outage-incident';

/**
 * The presence heartbeats of a transport's connections (streams, sockets, subscriptions) that
 * failed because Redis cannot be reached or refuses commands, followed as one incident: the first
 * failure is reported as presence gave it, then nothing while heartbeats keep failing, then one
 * line once every connection whose heartbeat failed has heartbeated again, saying after how long
 * and how many failed heartbeats. Any other failure is a bug, reported every time.
 *
 * A connection that leaves while failing stops holding the incident open; so does one whose
 * heartbeat was still waiting on Redis when it left: that failure, told after `left`, is counted
 * but holds nothing open. A working connection does not end the incident while another still
 * fails, so with a Redis Cluster master down the report does not flap between tenants.
 */
export interface HeartbeatOutage<Connection extends object = object> {
  /** `connection`'s heartbeat failed with `error`: true when the error is to be reported. */
  failed(connection: Connection, error: unknown): boolean;
  /** `connection`'s heartbeat worked: the line to report when that ended the incident. */
  worked(connection: Connection): string | undefined;
  /** `connection` left: it heartbeats no more. */
  left(connection: Connection): void;
}

/** Options of {@link createHeartbeatOutage}. */
export interface HeartbeatOutageOptions {
  /** What the line that ends the incident starts with, e.g. `Presence heartbeats of … work again`. */
  back: string;
  /** How long the incident lasted is read from this clock. Default `Date.now`. */
  clock?: Clock;
}

/** Follows the presence heartbeats of one transport's connections. */
export function createHeartbeatOutage<Connection extends object = object>(
  options: HeartbeatOutageOptions,
): HeartbeatOutage<Connection> {
  // Weak: a connection that left is not kept for the rest of the process.
  const gone = new WeakSet<Connection>();
  const incident = createOutageIncident<Connection>({
    back: options.back,
    failures: 'failed heartbeats',
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    keyed: true,
  });
  return {
    failed(connection, error) {
      // Told after its connection left: counted, holding nothing open.
      const key = gone.has(connection) ? undefined : connection;
      return incident.runFailed(error, key) !== 'counted';
    },
    worked: (connection) => incident.runWorked(connection),
    left(connection) {
      gone.add(connection);
      incident.forget(connection);
    },
  };
}

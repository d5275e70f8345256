import type { Logger } from '@calltrack/core';
import { createOutageIncident, isOutageError } from '@calltrack/core/internal';

/** How a background job reports its failures; see {@link createOutageLog}. */
export interface OutageLog {
  /** A run of the job, or a part of one, failed with `context.error`. */
  failed(message: string, context: { error: unknown } & Record<string, unknown>): void;
  /** A run of the job worked; it ends the outage once none failed for `quietMs`. */
  worked(): void;
}

/**
 * A background job's failures, with an outage reported as one incident: sweeps run every few
 * seconds and heartbeats every tick for as long as Redis is down, and each failed alike. The
 * first failure saying Redis cannot be reached is logged (as `error`), the next ones are counted,
 * and the first run that works again logs one `warn` with how long and how many. Any other
 * failure (a bug) is logged every time, as it is. `job` names the runs in the messages
 * (`Sweeps`, `Heartbeats`).
 *
 * `quietMs`: how long no run may have failed before one that works ends the outage. A sweep
 * covers every tenant, so one that works is enough (0). A heartbeat covers one connection: on a
 * Redis Cluster with one master down, other tenants' heartbeats keep working while that
 * master's keep failing, so heartbeats say "back" only after two whole intervals (every
 * connection's turn, twice) without a failure.
 */
export function createOutageLog(
  logger: Required<Pick<Logger, 'warn' | 'error'>>,
  now: () => number,
  job: string,
  quietMs = 0,
): OutageLog {
  const incident = createOutageIncident({
    back: `${job} work again`,
    failures: 'failures',
    clock: { now },
  });
  let lastFailedAt = 0;
  return {
    failed(message, context) {
      if (!isOutageError(context.error)) {
        logger.error(message, context);
        return;
      }
      lastFailedAt = now();
      if (!incident.failed()) return;
      logger.error(`${job} fail: Redis cannot be reached; reported once, until one works again.`, {
        error: context.error,
      });
    },
    worked() {
      if (now() - lastFailedAt < quietMs) return;
      const back = incident.end();
      if (back) logger.warn(back);
    },
  };
}

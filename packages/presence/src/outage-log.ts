import type { Logger } from '@calltrack/core';
import { createOutageIncident, endedClientLine } from '@calltrack/core/internal';

/** How a background job reports its failures; see {@link createOutageLog}. */
export interface OutageLog {
  /**
   * A run of the job, or a part of one, failed with `context.error`. `tenantId`, for a job whose
   * runs each cover one tenant (see {@link OutageLogRule.perTenant}), names whose.
   */
  failed(
    message: string,
    context: { error: unknown } & Record<string, unknown>,
    tenantId?: string,
  ): void;
  /**
   * A run of the job worked (for `tenantId`, when given); it may end the outage (see
   * {@link OutageLogRule}).
   */
  worked(tenantId?: string): void;
}

/** When a {@link createOutageLog} outage is over. */
export interface OutageLogRule {
  /**
   * How long no run may have failed before one that works ends the outage. Default 0: the first
   * run that works.
   */
  quietMs?: number;
  /**
   * Runs cover one tenant each and failed ones are tried again for that tenant (by a sweep, once
   * their lease runs out): the outage is over once every tenant whose run failed has worked
   * again, or, as a tenant's retry may be another process's, once a run works and none failed
   * for `quietMs`. Keeps a Redis Cluster with one master down from flapping between tenants.
   */
  perTenant?: boolean;
}

/**
 * A background job's failures, with an outage reported as one incident: sweeps run every few
 * seconds, heartbeats every tick, confirmations and deliveries after each operation, for as long
 * as Redis is down, and each failed alike. The first failure saying Redis cannot be reached is
 * logged (as `error`), the next ones are counted, and the run that ends the outage (`rule`) logs
 * one `warn` with how long and how many. A Redis client that has ended (`redis_client_closed`: a
 * bug or a shutdown) fails every run alike: it is logged once, as core's `endedClientLine`, until
 * a run works. Any other failure (a bug) is logged every time, as it is. `job` names the runs in
 * the messages (`Sweeps`, `Heartbeats`, `Deliveries`).
 *
 * A sweep covers every tenant, so one that works is enough (no rule). A heartbeat covers one
 * connection: on a Redis Cluster with one master down, other tenants' heartbeats keep working
 * while that master's keep failing, so heartbeats say "back" only after two whole intervals
 * (every connection's turn, twice) without a failure (`quietMs`).
 */
export function createOutageLog(
  logger: Required<Pick<Logger, 'warn' | 'error'>>,
  now: () => number,
  job: string,
  rule: OutageLogRule = {},
): OutageLog {
  const incident = createOutageIncident<string>({
    back: `${job} work again`,
    failures: 'failures',
    clock: { now },
    keyed: rule.perTenant === true,
    quietMs: rule.quietMs ?? 0,
  });
  return {
    failed(message, context, tenantId) {
      const failure = incident.runFailed(context.error, tenantId);
      if (failure === 'bug') {
        logger.error(message, context);
      } else if (failure === 'ended') {
        logger.error(endedClientLine(`Presence ${job.toLowerCase()}`), { error: context.error });
      } else if (failure === 'opened') {
        const line = `${job} fail: Redis cannot be reached; reported once, until one works again.`;
        logger.error(line, { error: context.error });
      }
    },
    worked(tenantId) {
      const back = incident.runWorked(tenantId);
      if (back) logger.warn(back);
    },
  };
}

import type { Logger } from '@calltrack/core';
import { isOutageError } from '@calltrack/core/internal';

/** How a background job reports its failures; see {@link createOutageLog}. */
export interface OutageLog {
  /** A run of the job, or a part of one, failed with `context.error`. */
  failed(message: string, context: { error: unknown } & Record<string, unknown>): void;
  /** A run of the job worked. */
  worked(): void;
}

/**
 * A background job's failures, with an outage reported as one incident: sweeps run every few
 * seconds and heartbeats every tick for as long as Redis is down, and each failed alike. The
 * first failure saying Redis cannot be reached is logged (as `error`), the next ones are counted,
 * and the first run that works again logs one `warn` with how long and how many. Any other
 * failure (a bug) is logged every time, as it is. `job` names the runs in the messages
 * (`Sweeps`, `Heartbeats`).
 */
export function createOutageLog(
  logger: Required<Pick<Logger, 'warn' | 'error'>>,
  now: () => number,
  job: string,
): OutageLog {
  let outage: { since: number; failures: number } | undefined;
  return {
    failed(message, context) {
      if (!isOutageError(context.error)) {
        logger.error(message, context);
        return;
      }
      if (outage) {
        outage.failures += 1;
        return;
      }
      outage = { since: now(), failures: 1 };
      logger.error(`${job} fail: Redis cannot be reached; reported once, until one works again.`, {
        error: context.error,
      });
    },
    worked() {
      if (!outage) return;
      const seconds = ((now() - outage.since) / 1000).toFixed(1);
      logger.warn(
        `${job} work again after ${seconds} s and ${outage.failures} failures (only the first was reported).`,
      );
      outage = undefined;
    },
  };
}

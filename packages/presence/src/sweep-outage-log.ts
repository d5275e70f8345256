import { isOutageError } from '@calltrack/core/internal';
import type { PresenceLogger } from './presence-logger';

/** How the sweeper reports its failures; see {@link createSweepOutageLog}. */
export interface SweepOutageLog {
  /** A sweep, or a tenant's part of one, failed with `context.error`. */
  failed(message: string, context: { error: unknown; tenantId?: string }): void;
  /** A sweep ran with no failure. */
  worked(): void;
}

/**
 * The sweeper's failures, with an outage reported as one incident: the sweeper runs every few
 * seconds for as long as Redis is down, and each run failed alike. The first failure saying
 * Redis cannot be reached is logged (as `error`), the next ones are counted, and the first sweep
 * that works again logs one `warn` with how long and how many. Any other failure (a bug) is
 * logged every time, as it is.
 */
export function createSweepOutageLog(
  logger: Required<PresenceLogger>,
  now: () => number,
): SweepOutageLog {
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
      logger.error(
        'Sweeps fail: Redis cannot be reached; reported once, until a sweep works again.',
        {
          error: context.error,
        },
      );
    },
    worked() {
      if (!outage) return;
      const seconds = ((now() - outage.since) / 1000).toFixed(1);
      logger.warn(
        `Sweeps work again after ${seconds} s and ${outage.failures} failures (only the first was reported).`,
      );
      outage = undefined;
    },
  };
}

import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_BusSubscriptionLostError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The bus subscription feeding a tenant's connections (or the all-tenants connections) in this
 * process ended or failed. calltrack restarts it at once, from the last cursor it delivered
 * (its connections get `reset` when that is impossible); reported to `onError`, never thrown to
 * your code.
 */
export class BusSubscriptionLostError extends CallTrackError {
  private readonly [symbol] = true;
  /** The tenant, or undefined for the all-tenants subscription. */
  readonly tenantId: string | undefined;
  /** How many times in a row the subscription was lost without delivering anything. */
  readonly attempt: number;

  /**
   * With `outage`, the cause is Redis (or the bus) being unreachable: the message says so and
   * the stack is left out (one line to log; the channel reports it once per outage).
   */
  constructor(options: {
    tenantId: string | undefined;
    attempt: number;
    cause?: unknown;
    outage?: boolean;
  }) {
    const { tenantId, attempt, cause, outage } = options;
    const what = tenantId === undefined ? 'the all-tenants view' : `tenant ${tenantId}`;
    super({
      message: outage
        ? `The bus subscription of ${what} failed (attempt ${attempt}): Redis cannot be reached (${
            (cause as Error).message.split('\n')[0]
          }); restarting it until it is back, reported once`
        : `The bus subscription of ${what} ${
            cause === undefined ? 'ended' : 'failed'
          } (attempt ${attempt}); restarting it`,
      code: 'bus_subscription_lost',
      status: 503,
      cause,
    });
    this.name = name;
    this.tenantId = tenantId;
    this.attempt = attempt;
    if (outage) this.stack = `${name}: ${this.message}`;
  }

  static override isInstance(error: unknown): error is BusSubscriptionLostError {
    return CallTrackError.hasMarker(error, marker);
  }
}

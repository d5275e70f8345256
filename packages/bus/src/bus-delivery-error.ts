import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_BusDeliveryError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Why one message was not delivered:
 * - `unreadable`: a message on the tenant's channel or in its history is not an event calltrack
 *   wrote (not JSON, not an event, another tenant's event); it is skipped;
 * - `filter`: a subscription's filter threw on the event; that subscription skips it;
 * - `subscriber`: handing the event to one subscription threw; that subscription is ended (it
 *   gets a `lagged` message when it still can, and resumes from its cursor), the others go on.
 */
export type BusDeliveryFailure = 'unreadable' | 'filter' | 'subscriber';

/**
 * One message could not be delivered to one subscription (or to any). Never thrown: the bus
 * reports it to `onError` and keeps delivering everything else.
 */
export class BusDeliveryError extends CallTrackError {
  private readonly [symbol] = true;
  /** What failed. */
  readonly reason: BusDeliveryFailure;
  /** The tenant whose stream the message belongs to, when known. */
  readonly tenantId: string | undefined;
  /** The message's cursor, when known. */
  readonly cursor: string | undefined;

  constructor(options: {
    reason: BusDeliveryFailure;
    message: string;
    tenantId?: string;
    cursor?: string;
    cause?: unknown;
  }) {
    super({
      message: options.message,
      code: 'bus_delivery_failed',
      status: 500,
      cause: options.cause,
    });
    this.name = name;
    this.reason = options.reason;
    this.tenantId = options.tenantId;
    this.cursor = options.cursor;
  }

  static override isInstance(error: unknown): error is BusDeliveryError {
    return CallTrackError.hasMarker(error, marker);
  }
}

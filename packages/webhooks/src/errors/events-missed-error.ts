import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_EventsMissedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Reported through `onError` (never thrown to a caller): events of a tenant were published while
 * no dispatcher was following the bus, and they have left the bus's history, so they could not be
 * delivered. The message names the tenant and the reason.
 */
export class EventsMissedError extends CallTrackError {
  private readonly [symbol] = true;
  /** The tenant whose events were missed. */
  readonly tenantId: string;

  constructor({
    message,
    tenantId,
    cause,
  }: { message: string; tenantId: string; cause?: unknown }) {
    super({ message, code: 'events_missed', status: 500, cause });
    this.name = name;
    this.tenantId = tenantId;
  }

  static override isInstance(error: unknown): error is EventsMissedError {
    return CallTrackError.hasMarker(error, marker);
  }
}

import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_EndpointQuotaExceededError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A tenant already has as many endpoints as `maxEndpointsPerTenant` allows. Answered with 409. */
export class EndpointQuotaExceededError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'endpoint_quota_exceeded', status: 409, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is EndpointQuotaExceededError {
    return CallTrackError.hasMarker(error, marker);
  }
}

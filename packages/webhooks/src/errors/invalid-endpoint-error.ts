import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_InvalidEndpointError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** An endpoint's settings were refused (URL, event filter, headers, limits, sizes); the message names the field. Answered with 400. */
export class InvalidEndpointError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'invalid_endpoint', status: 400, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is InvalidEndpointError {
    return CallTrackError.hasMarker(error, marker);
  }
}

import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_RequestIdReusedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A `POST /calls` came with a `requestId` that an earlier request used for another call (another
 * provider or other numbers). Answered with 422; nothing is placed.
 */
export class RequestIdReusedError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'request_id_reused', status: 422, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is RequestIdReusedError {
    return CallTrackError.hasMarker(error, marker);
  }
}

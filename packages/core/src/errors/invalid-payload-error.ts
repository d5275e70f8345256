import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_InvalidPayloadError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A request body is malformed or lacks a required field. Answered with 400. */
export class InvalidPayloadError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'invalid_payload', status: 400, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is InvalidPayloadError {
    return CallTrackError.hasMarker(error, marker);
  }
}

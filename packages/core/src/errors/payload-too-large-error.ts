import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_PayloadTooLargeError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A request body is larger than the configured limit. Answered with 413. */
export class PayloadTooLargeError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'payload_too_large', status: 413, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is PayloadTooLargeError {
    return CallTrackError.hasMarker(error, marker);
  }
}

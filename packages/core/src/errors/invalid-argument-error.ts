import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_InvalidArgumentError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** An SDK function was called with arguments it cannot accept (a programming error in the caller). */
export class InvalidArgumentError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'invalid_argument', status: 400, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is InvalidArgumentError {
    return CallTrackError.hasMarker(error, marker);
  }
}

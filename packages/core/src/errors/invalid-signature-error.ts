import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_InvalidSignatureError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A webhook signature or token did not verify. Answered with 403; nothing is published. */
export class InvalidSignatureError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'invalid_signature', status: 403, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is InvalidSignatureError {
    return CallTrackError.hasMarker(error, marker);
  }
}

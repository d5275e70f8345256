import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_MissingSignatureError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A webhook arrived without the signature or token its provider is configured to send. Answered with 401. */
export class MissingSignatureError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'missing_signature', status: 401, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is MissingSignatureError {
    return CallTrackError.hasMarker(error, marker);
  }
}

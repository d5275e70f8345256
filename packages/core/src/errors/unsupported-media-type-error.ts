import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_UnsupportedMediaTypeError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A request body has a content type the handler does not accept. Answered with 415. */
export class UnsupportedMediaTypeError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'unsupported_media_type', status: 415, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is UnsupportedMediaTypeError {
    return CallTrackError.hasMarker(error, marker);
  }
}

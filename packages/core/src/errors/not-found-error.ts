import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_NotFoundError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** The requested resource does not exist for this tenant. Answered with 404. */
export class NotFoundError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'not_found', status: 404, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is NotFoundError {
    return CallTrackError.hasMarker(error, marker);
  }
}

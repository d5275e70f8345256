import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_UnauthorizedError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** A read API or realtime connection was made without valid credentials. Answered with 401. */
export class UnauthorizedError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'unauthorized', status: 401, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is UnauthorizedError {
    return CallTrackError.hasMarker(error, marker);
  }
}

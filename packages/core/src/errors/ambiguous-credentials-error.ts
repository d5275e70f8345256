import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_AmbiguousCredentialsError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A request carries two different values of one credential (a signature header sent twice, a
 * token parameter repeated with another value). Which one counts would be a guess, so neither
 * does. Answered with 400.
 */
export class AmbiguousCredentialsError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'ambiguous_credentials', status: 400, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is AmbiguousCredentialsError {
    return CallTrackError.hasMarker(error, marker);
  }
}

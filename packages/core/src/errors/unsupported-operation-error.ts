import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_UnsupportedOperationError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The operation exists in calltrack's API but cannot be done here: the provider has no API for it
 * (CallerDesk cannot end a call), or the app configured nothing that does it (no call control for
 * a provider). Answered with 501.
 */
export class UnsupportedOperationError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'unsupported_operation', status: 501, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is UnsupportedOperationError {
    return CallTrackError.hasMarker(error, marker);
  }
}

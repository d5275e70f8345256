import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_BusUnavailableError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** The event bus backend (e.g. Redis) cannot be reached. The operation was not performed, or its outcome is unknown; publishing again is safe because publish is idempotent by event id. */
export class BusUnavailableError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'bus_unavailable', status: 503, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is BusUnavailableError {
    return CallTrackError.hasMarker(error, marker);
  }
}

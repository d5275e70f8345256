import { CallTrackError } from './calltrack-error';

const name = 'CallTrack_DatabaseUnavailableError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * A database (the dialer's PostgreSQL lead store) could not be reached: the connection was
 * refused or ended (a restart, a failover, `pg_terminate_backend`). Answered 503
 * `database_unavailable` with `Retry-After`. The operation was not performed, or its outcome is
 * unknown. Shared through `@calltrack/core/internal` only: callers go by its `code`.
 */
export class DatabaseUnavailableError extends CallTrackError {
  private readonly [symbol] = true;

  constructor({ message, cause }: { message: string; cause?: unknown }) {
    super({ message, code: 'database_unavailable', status: 503, cause });
    this.name = name;
  }

  static override isInstance(error: unknown): error is DatabaseUnavailableError {
    return CallTrackError.hasMarker(error, marker);
  }
}

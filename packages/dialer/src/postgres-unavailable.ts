import { CallTrackError } from '@calltrack/core';
import { DatabaseUnavailableError } from '@calltrack/core/internal';

/** The socket errors of a connection that could not be made, or was cut. */
const socketCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL ending or refusing the session: the server shutting down (`57P01`
 * admin_shutdown, also what `pg_terminate_backend` sends; `57P02` crash_shutdown), starting up
 * (`57P03` cannot_connect_now). Class `08` (connection exceptions) is matched by its prefix.
 */
const sessionEndedCodes: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03']);

/**
 * What `pg` says of a connection that ended under it (no SQLSTATE: the socket closed) or timed
 * out while being made (the pool's `connectionTimeoutMillis`), and of a client it took out of
 * use after such an end.
 */
const endedMessages = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

/** The code naming why `error` says PostgreSQL could not be reached, or undefined. */
export function postgresUnavailableReason(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (socketCodes.has(code)) return code;
    if (/^08[0-9A-Z]{3}$/.test(code) || sessionEndedCodes.has(code)) return `SQLSTATE ${code}`;
  }
  // Node reports a refused connection to each address of a name (`localhost`) together.
  if (error instanceof AggregateError && error.errors.some(postgresUnavailableReason)) {
    return postgresUnavailableReason(error.errors.find(postgresUnavailableReason));
  }
  if (endedMessages.some((message) => error.message.startsWith(message))) {
    return 'connection terminated';
  }
  return undefined;
}

/**
 * A PostgreSQL store's failure as it leaves the store: a connection that could not be made or
 * was ended → `DatabaseUnavailableError` (503 `database_unavailable` with `Retry-After` at the
 * dialer's API), naming the reason by its code only (the cause, kept for the logs, names the
 * address); a calltrack error, and anything else, as it is (a 500 that reveals nothing).
 */
export function toPostgresStoreError(error: unknown): unknown {
  if (CallTrackError.isInstance(error)) return error;
  const reason = postgresUnavailableReason(error);
  if (reason === undefined) return error;
  return new DatabaseUnavailableError({
    message: `The database cannot be reached (${reason}). Try again later.`,
    cause: error,
  });
}

/**
 * Wraps each method of a PostgreSQL store so that what it rejects with leaves it through
 * {@link toPostgresStoreError}: one `catch` on the promise, nothing more on success.
 */
export function catchPostgresStoreErrors<T extends object>(store: T): T {
  const wrapped = { ...store };
  for (const name of Object.keys(store) as (keyof T & string)[]) {
    const method = store[name];
    if (typeof method !== 'function') continue;
    Object.assign(wrapped, {
      [name]: (...args: unknown[]) => {
        const result = (method as (...args: unknown[]) => unknown).apply(store, args);
        return result instanceof Promise
          ? result.catch((error: unknown) => {
              throw toPostgresStoreError(error);
            })
          : result;
      },
    });
  }
  return wrapped;
}

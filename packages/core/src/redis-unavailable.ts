import { BusUnavailableError } from './errors/bus-unavailable-error';
import { CallTrackError } from './errors/calltrack-error';
import { DatabaseUnavailableError } from './errors/database-unavailable-error';
import { RedisUnavailableError } from './errors/redis-unavailable-error';

/**
 * What a 503 for an unreachable backend asks the client to wait, in seconds (`Retry-After`): a
 * Redis that restarts or fails over is usually back within a few seconds. Providers retry on
 * their own schedule whatever it says; browsers (`@calltrack/react`) wait at least this long.
 */
export const unavailableRetryAfterSeconds = 5;

/**
 * The messages with which ioredis rejects a command it could not run because Redis could not be
 * reached in time: the connection dropped with the command in flight, the command outlived
 * `commandTimeout`, the offline queue is off (`enableOfflineQueue: false`) or was flushed after
 * `maxRetriesPerRequest` reconnect attempts, a Cluster that cannot reach any node or gave a command
 * up after `maxRedirections` (slots moving, a failover, a node down: each passes).
 *
 * `Connection is closed.` is also what a client that will never reconnect (status `end`) answers;
 * only the client's holder can tell the two apart (a Cluster answers it for a node that is down):
 * see {@link redisClientClosedError}.
 */
const unavailableMessages = [
  'Connection is closed.',
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'None of startup nodes is available',
  'Failed to refresh slots cache.',
  'Too many Cluster redirections',
];
const unavailableNames = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);

/**
 * Whether `error` says Redis could not be reached (an ioredis connection failure, by its name or
 * message: calltrack does not import ioredis), as opposed to a command Redis answered with an
 * error. Such a command was not run, or its outcome is unknown.
 */
export function isRedisUnavailableError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (unavailableNames.has(error.name)) return true;
  return unavailableMessages.some((message) => error.message.startsWith(message));
}

/**
 * A Redis connection failure as the 503 `redis_unavailable` a handler answers with (naming the
 * cause, not the stack); any other error as it is.
 */
export function toUnavailableError(error: unknown): unknown {
  if (CallTrackError.isInstance(error) || !isRedisUnavailableError(error)) return error;
  return new RedisUnavailableError({
    message: `Redis cannot be reached (${(error as Error).message.split('\n')[0]}). Try again later.`,
    cause: error,
  });
}

/**
 * Whether `error` is an outage rather than a bug: an ioredis connection failure
 * ({@link isRedisUnavailableError}), or calltrack's `RedisUnavailableError` /
 * `BusUnavailableError` / `DatabaseUnavailableError`. Background work that keeps retrying reports an outage once, as one
 * line, and keeps the stack for everything else.
 * @internal
 */
export function isOutageError(error: unknown): boolean {
  return (
    isRedisUnavailableError(error) ||
    RedisUnavailableError.isInstance(error) ||
    BusUnavailableError.isInstance(error) ||
    DatabaseUnavailableError.isInstance(error)
  );
}

/** Whether a calltrack error is a backend that could not be reached (answered with Retry-After). */
export function isUnavailableAnswer(error: CallTrackError): boolean {
  return (
    BusUnavailableError.isInstance(error) ||
    RedisUnavailableError.isInstance(error) ||
    DatabaseUnavailableError.isInstance(error)
  );
}

/**
 * What a calltrack part holding an ioredis client throws when that client's status is `end`: the
 * app called `quit()` / `disconnect()`, or its `retryStrategy` gave up. That is no outage a
 * retry outlasts but a bug or a shutdown, so it is a 500 (logged as an error), not a 503 that
 * providers would retry for ever.
 */
export function redisClientClosedError(cause?: unknown): CallTrackError {
  return new CallTrackError({
    message:
      'The Redis client is closed and will not reconnect (the app called quit() or disconnect(), or its retryStrategy gave up).',
    code: 'redis_client_closed',
    status: 500,
    cause,
  });
}

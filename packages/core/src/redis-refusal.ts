import { CallTrackError } from './errors/calltrack-error';
import { RedisUnavailableError } from './errors/redis-unavailable-error';
import { redactErrorValues } from './redact-error-values';
import { redisClientClosedError } from './redis-unavailable';

/**
 * Redis's own refusals of a command it cannot run now, by their error code: out of memory under
 * `noeviction` (`OOM`), a replica after a failover (`READONLY`), a replica whose master is down
 * (`MASTERDOWN`), a server loading its data (`LOADING`), a script or function running too long
 * (`BUSY`), a Cluster without a quorum or moving a slot (`CLUSTERDOWN`, `TRYAGAIN`), writes
 * stopped after a failed save (`MISCONF`) or for want of replicas (`NOREPLICAS`). None of them
 * ran the command (a script is refused at its first write), so a retry is safe.
 */
const refusalCodes: ReadonlySet<string> = new Set([
  'OOM',
  'READONLY',
  'MASTERDOWN',
  'LOADING',
  'BUSY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MISCONF',
  'NOREPLICAS',
]);

/**
 * The error code of a reply error (`WRONGTYPE`, `OOM`…): the message's first word, also inside a
 * script's error on Redis 6 (`ERR Error running script … -OOM command not allowed…`). A
 * transaction's `EXECABORT` is answered by the code of the command that made it abort.
 * @internal Shared by the Redis stores of the calltrack packages.
 */
export function redisReplyCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || error.name !== 'ReplyError') return undefined;
  const code = /^([A-Z]+) /.exec(error.message)?.[1];
  if (code === 'EXECABORT') {
    const previous = (error as { previousErrors?: unknown }).previousErrors;
    return Array.isArray(previous) ? redisReplyCode(previous[0]) : code;
  }
  if (code === 'ERR') {
    const inScript = / -([A-Z]+) /.exec(error.message)?.[1];
    if (inScript !== undefined) return inScript;
  }
  return code;
}

/**
 * Whether Redis refused a command because it cannot take it now (out of memory, a replica, a
 * failover or a load in progress: see `refusalCodes`), as opposed to a connection failure (core's
 * `isRedisUnavailableError`) or a reply that a retry would get again (`WRONGTYPE`, a script's
 * own error).
 * @internal Shared by the Redis stores of the calltrack packages.
 */
export function isRedisRefusingCommands(error: unknown): boolean {
  const code = redisReplyCode(error);
  return code !== undefined && refusalCodes.has(code);
}

/** A reply error's first line (an aborted transaction's cause), without a script's name and line. */
function redisRefusalText(error: Error): string {
  const previous = (error as { previousErrors?: unknown }).previousErrors;
  const source = Array.isArray(previous) && previous[0] instanceof Error ? previous[0] : error;
  return (source.message.split('\n')[0] ?? '').replace(/ script: .*$/, '');
}

/** What {@link toRedisStoreError} says about the operation that failed. */
export interface RedisStoreOperation {
  /** What was being done, for the message: `creating an endpoint`, `claiming leads`. */
  operation: string;
  /**
   * Whether it writes. The refusal then does not say nothing was written: a method that writes
   * in several steps (lead batches, an endpoint and its indexes) may have done some first.
   */
  writes: boolean;
}

/**
 * A Redis store's failure as it leaves the store, never with the values it wrote (ioredis
 * attaches the command's arguments to its errors: a webhook secret, a lead's phone number, a
 * message body; redacted in place by `redactErrorValues`):
 *
 * - Redis refusing commands for now ({@link isRedisRefusingCommands}) → `RedisUnavailableError`
 *   (503 `redis_unavailable` with `Retry-After` at the handlers, an outage for the loggers), its
 *   cause the redacted reply;
 * - a calltrack error as it is; anything else as it is, redacted.
 *
 * Meant for a store's catch path (`method(...).catch(...)`): nothing is read on success.
 * @internal Shared by the Redis stores of the calltrack packages.
 */
export function toRedisStoreError(error: unknown, context: RedisStoreOperation): unknown {
  if (CallTrackError.isInstance(error)) return error;
  redactErrorValues(error);
  if (!(error instanceof Error) || !isRedisRefusingCommands(error)) return error;
  return new RedisUnavailableError({
    message: `Redis cannot take commands right now (${redisRefusalText(error)}) while ${context.operation}.${
      context.writes
        ? ' Try again later; what was written before the refusal, if anything, stays.'
        : ' Try again later.'
    }`,
    cause: error,
  });
}

/** Each method of a store, named for {@link catchRedisStoreErrors}. */
export type RedisStoreOperations<T> = {
  [K in keyof T as NonNullable<T[K]> extends (...args: never[]) => unknown
    ? K
    : never]: RedisStoreOperation;
};

/** What {@link catchRedisStoreErrors} reads of the store's ioredis client (core does not import ioredis). */
export interface RedisStoreClient {
  readonly status: string;
}

/**
 * Wraps each method of a Redis store so that what it rejects with leaves it through
 * {@link toRedisStoreError}: a method returning a promise gets one `catch`, nothing more on
 * success. `operations` names what each method does (the type asks for every one). Synchronous
 * returns and throws (an argument refused before Redis) pass as they are.
 *
 * A failure while `redis` has ended (status `end`: the app called `quit()` / `disconnect()`, or
 * its `retryStrategy` gave up) is core's `redisClientClosedError`, a 500 `redis_client_closed`,
 * as the tracker's call store answers it: ioredis' `Connection is closed.` alone reads as an
 * outage (503), which callers would retry for ever against a client that will never reconnect.
 * @internal Shared by the Redis stores of the calltrack packages.
 */
export function catchRedisStoreErrors<T extends object>(
  redis: RedisStoreClient,
  store: T,
  operations: RedisStoreOperations<T>,
): T {
  const wrapped = { ...store };
  const named = operations as Partial<Record<string, RedisStoreOperation>>;
  for (const name of Object.keys(store) as (keyof T & string)[]) {
    const method = store[name];
    if (typeof method !== 'function') continue;
    const context = named[name] ?? { operation: `running ${name}`, writes: true };
    const fail = (error: unknown): never => {
      if (redis.status === 'end' && !CallTrackError.isInstance(error)) {
        redactErrorValues(error);
        throw redisClientClosedError(error);
      }
      throw toRedisStoreError(error, context);
    };
    Object.assign(wrapped, {
      [name]: (...args: unknown[]) => {
        const result = (method as (...args: unknown[]) => unknown).apply(store, args);
        return result instanceof Promise ? result.catch(fail) : result;
      },
    });
  }
  return wrapped;
}

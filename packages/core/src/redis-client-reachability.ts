/** What {@link followRedisReachability} reads of an ioredis client (core does not import ioredis). */
export interface RedisClientStatus {
  readonly status: string;
  once(event: 'ready', listener: () => void): unknown;
}

/**
 * Client states in which a command would wait in ioredis' offline queue for a connection that may
 * be long in coming (with the default `maxRetriesPerRequest`, 20 reconnect attempts: 10 to 40 s).
 * Once the client has been ready, every state but `ready` is one: during an outage it goes
 * `reconnecting`, `connecting`, `connect` (TCP up, the ready check unanswered) and round again,
 * and where packets are dropped each `connecting` lasts up to `connectTimeout` (10 s). Before
 * that, its first connect (`wait` with `lazyConnect`, `connecting`, `connect`) is waited for.
 */
const unreachableStatuses = new Set(['reconnecting', 'close']);

/**
 * Follows a client for a part that must refuse a command at once rather than queue it while Redis
 * cannot be reached (the Redis call store's apply, the Redis bus's publish). The returned check
 * answers `'end'` for a client that will never reconnect (a bug or a shutdown: a 500), the status
 * for one that cannot take a command now (a 503), and undefined when the command may go (or wait
 * for the client's first connect).
 * @internal Shared by `@calltrack/tracker` and `@calltrack/bus`.
 */
export function followRedisReachability(redis: RedisClientStatus): () => string | undefined {
  let beenReady = redis.status === 'ready';
  if (!beenReady) redis.once('ready', () => (beenReady = true));
  return () => {
    const { status } = redis;
    if (status === 'ready') return undefined;
    if (status === 'end') return 'end';
    return beenReady || unreachableStatuses.has(status) ? status : undefined;
  };
}

import { InvalidArgumentError } from './errors/invalid-argument-error';

/**
 * Refuses an ioredis client (`Redis`, or a `Cluster` through its `redisOptions`) that has
 * `keyPrefix`. ioredis prefixes the keys a command or script is given, not the key names a
 * calltrack script builds from them (indexes, logs) nor pub/sub channels, so a store would write
 * half its keys under the prefix and half without, and read back less than it wrote, with no
 * error. Every calltrack Redis backend has a `prefix` option for this instead.
 * @internal Shared by the calltrack Redis backends.
 */
export function checkNoKeyPrefix(createdBy: string, redis: unknown): void {
  const { options } = (redis ?? {}) as {
    options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } };
  };
  const keyPrefix = options?.keyPrefix || options?.redisOptions?.keyPrefix;
  if (keyPrefix) {
    throw new InvalidArgumentError({
      message: `${createdBy}: the ioredis client has keyPrefix ${JSON.stringify(keyPrefix)}, which the keys built inside calltrack's scripts (and pub/sub channels) do not get, so part of what is written would never be read back. Give it a client without keyPrefix and set its \`prefix\` option instead.`,
    });
  }
}

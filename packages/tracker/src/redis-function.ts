import { isRedisRefusingCommands } from '@calltrack/core/internal';
import { type RedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';

/**
 * One Lua function, as a Redis Functions library (loaded once, called with `FCALL`) and as the
 * same code in a script (`EVALSHA`) for servers without Functions (decision 0040). A library's
 * top level runs once, when it is loaded: the functions and tables of its fragments are not
 * built again on every call, as a script's are.
 */
export interface RedisFunction {
  /** The function's name, also its library's: unique per source (it ends in the script's SHA-1). */
  name: string;
  /** The library's source (`#!lua name=<name>` first), registering the function under `name`. */
  library: string;
  /** The same function as a script, which runs it on `KEYS` and `ARGV`. */
  script: RedisScript;
}

/** Clients whose server has no Functions (Redis before 7) or refused to load a library. */
const withoutFunctions = new WeakSet<Redis | Cluster>();

const replyErrorMessage = (error: unknown): string | undefined =>
  (error as { name?: unknown }).name === 'ReplyError'
    ? String((error as Error).message)
    : undefined;

/**
 * Runs `fn` with `FCALL`. A server that does not know the function (first use, a restart, a new
 * master) gets its library, on every master of a Cluster, and the call is sent again; a server
 * without Functions, or one that refuses `FCALL` or the library (an ACL, a managed Redis), runs
 * the script instead, from then on for this client. Either way the function runs once: `FCALL` of an
 * unknown function runs nothing. Nothing is registered on the user's client.
 */
export async function runRedisFunction(
  redis: Redis | Cluster,
  fn: RedisFunction,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (!withoutFunctions.has(redis)) {
    try {
      return await redis.fcall(fn.name, keys.length, ...keys, ...args);
    } catch (error) {
      const message = replyErrorMessage(error);
      if (message === undefined) throw error;
      if (/^ERR Function not found/i.test(message)) {
        if (await loadRedisFunction(redis, fn)) {
          return await redis.fcall(fn.name, keys.length, ...keys, ...args);
        }
      } else if (/unknown command|^NOPERM/i.test(message)) {
        // No Functions on this server (Redis before 7), or not for this user: scripts from now on.
        withoutFunctions.add(redis);
      } else {
        throw error;
      }
    }
  }
  return await runRedisScript(redis, fn.script, keys, args);
}

/**
 * Loads `fn`'s library on the server, or on every master of a Cluster (a library already there,
 * loaded by another process, is the same code: its name holds the SHA-1). Answers false when a
 * server refused it (its client runs scripts from then on); a connection failure is thrown.
 */
async function loadRedisFunction(redis: Redis | Cluster, fn: RedisFunction): Promise<boolean> {
  const nodes: (Redis | Cluster)[] = redis.isCluster ? (redis as Cluster).nodes('master') : [redis];
  try {
    await Promise.all(
      nodes.map((node) =>
        node.call('FUNCTION', 'LOAD', fn.library).catch((error: unknown) => {
          if (!/already exists/i.test(replyErrorMessage(error) ?? '')) throw error;
        }),
      ),
    );
    return true;
  } catch (error) {
    // A server that cannot take the library now (out of memory, a replica after a failover) has
    // not refused Functions: the failure is the caller's, and the next call loads it again.
    if (replyErrorMessage(error) === undefined || isRedisRefusingCommands(error)) throw error;
    withoutFunctions.add(redis);
    return false;
  }
}

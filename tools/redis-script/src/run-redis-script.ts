import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** A Lua script with its SHA-1, for `EVALSHA` (shared by calltrack's Redis backends). */
export interface RedisScript {
  source: string;
  sha: string;
}

/** Prepares a script: computes its SHA-1 once. */
export function defineRedisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script with `EVALSHA`, loading it with `EVAL` when the server does not know it yet
 * (`NOSCRIPT`: first use, a restart, `SCRIPT FLUSH`). Nothing is registered on the user's client.
 */
export async function runRedisScript(
  redis: Redis | Cluster,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return await redis.eval(script.source, keys.length, ...keys, ...args);
    }
    throw error;
  }
}

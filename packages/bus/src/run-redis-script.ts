import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script with its SHA-1, run with EVALSHA and loaded on demand. */
export interface RedisScript {
  source: string;
  sha: string;
}

/** Prepares a script: computes its SHA once. */
export function defineRedisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs a script by SHA, falling back to EVAL when Redis does not know it (first use, or a
 * restarted Redis that lost its script cache). Does not touch the client's own commands.
 */
export async function runRedisScript(
  redis: Redis,
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

import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { redisClusterSlot } from './redis-cluster-slot';

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
 * Loads in flight, per client, then script SHA and node: settle when the `EVAL` that loads the
 * script there does. Kept beside the client, not on it: nothing is registered on the user's client.
 */
const loading = new WeakMap<Redis | Cluster, Map<string, Promise<void>>>();

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

const ignore = (): void => {};

/**
 * The node a call runs on, as far as the client knows: on a Cluster the master of its first key's
 * slot (a script is loaded per node); on a single Redis there is one.
 */
function nodeOf(redis: Redis | Cluster, keys: readonly string[]): string {
  const cluster = redis as Cluster;
  if (cluster.isCluster !== true || keys.length === 0) return '';
  return cluster.slots[redisClusterSlot(keys[0] as string)]?.[0] ?? '';
}

/**
 * Runs a script with `EVALSHA`. When the server does not know it (`NOSCRIPT`: first use, a
 * restart, `SCRIPT FLUSH`), the first call that meets it runs the script with `EVAL`, which loads
 * it on the node its keys route to; the calls that meet `NOSCRIPT` meanwhile, for the same client,
 * script and node, wait for that `EVAL` (single flight) and retry `EVALSHA`: after a flush, 1,000
 * concurrent calls send the source once per node, not 1,000 times. One whose retry meets
 * `NOSCRIPT` again (the slot moved; a failover; the loading `EVAL` never ran) runs `EVAL`
 * itself. Nothing is registered on the user's client.
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
    if (!isNoScript(error)) throw error;
  }
  let flights = loading.get(redis);
  if (flights === undefined) {
    flights = new Map();
    loading.set(redis, flights);
  }
  const inFlight = flights;
  const key = `${script.sha} ${nodeOf(redis, keys)}`;
  const load = inFlight.get(key);
  if (load === undefined) {
    // This call loads it, and gets its own answer on the way.
    const run = redis.eval(script.source, keys.length, ...keys, ...args);
    const settled: Promise<void> = run.then(ignore, ignore).then(() => {
      // Forgotten once settled: a later flush loads it again.
      if (inFlight.get(key) === settled) inFlight.delete(key);
    });
    inFlight.set(key, settled);
    return await run;
  }
  await load;
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
  }
  return await redis.eval(script.source, keys.length, ...keys, ...args);
}

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
 * Loads in flight, per client and script SHA. Kept beside the client, not on it: nothing is
 * registered on the user's client.
 */
const loading = new WeakMap<Redis | Cluster, Map<string, Promise<void>>>();

const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * Loads a script with `SCRIPT LOAD`: on a single Redis there; on a Cluster on every master it
 * knows (a script is loaded per node). Failures are left to the caller's fallback (`EVAL`).
 */
async function loadScript(redis: Redis | Cluster, script: RedisScript): Promise<void> {
  const nodes = (redis as Cluster).isCluster
    ? (redis as Cluster).nodes('master')
    : [redis as Redis];
  await Promise.allSettled(nodes.map((node) => node.script('LOAD', script.source)));
}

/**
 * The one load of this script on this client in flight, started by the first call that met
 * `NOSCRIPT`; the calls that meet it meanwhile wait for the same one (single flight): after a
 * restart or `SCRIPT FLUSH`, 1,000 concurrent calls send its source once, not 1,000 times.
 */
function sharedLoad(redis: Redis | Cluster, script: RedisScript): Promise<void> {
  let inFlight = loading.get(redis);
  if (inFlight === undefined) {
    inFlight = new Map();
    loading.set(redis, inFlight);
  }
  const flights = inFlight;
  let load = flights.get(script.sha);
  if (load === undefined) {
    // Forgotten once settled: a later flush loads it again.
    load = loadScript(redis, script).finally(() => flights.delete(script.sha));
    flights.set(script.sha, load);
  }
  return load;
}

/**
 * Runs a script with `EVALSHA`. When the server does not know it (`NOSCRIPT`: first use, a
 * restart, `SCRIPT FLUSH`), the concurrent calls that meet that share one `SCRIPT LOAD` and
 * retry `EVALSHA`; one that meets `NOSCRIPT` again (a Cluster node the load missed: a new master,
 * a failover; a load refused) runs the script with `EVAL`, which loads it on the node its keys
 * route to. Nothing is registered on the user's client.
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
  await sharedLoad(redis, script);
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
  }
  return await redis.eval(script.source, keys.length, ...keys, ...args);
}

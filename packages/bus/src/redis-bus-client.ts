import type { Cluster, Redis } from 'ioredis';

/** The ioredis client the Redis bus runs on: a single `Redis`, or a `Cluster`. */
export type RedisBusClient = Redis | Cluster;

/** True for an ioredis `Cluster` (checked by its flag, so two copies of ioredis agree). */
export function isRedisCluster(client: RedisBusClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

/**
 * Resolves once a Cluster is connected and knows its slot map (connecting it if it was created
 * with `lazyConnect` and never used). Subscriptions are placed by that map.
 */
export async function whenClusterReady(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') return;
  const ready = new Promise<void>((resolve) => cluster.once('ready', () => resolve()));
  if (cluster.status === 'wait') cluster.connect().catch(() => {});
  await ready;
}

import type { Cluster, Redis } from 'ioredis';

/** The ioredis client the Redis bus runs on: a single `Redis`, or a `Cluster`. */
export type RedisBusClient = Redis | Cluster;

/** True for an ioredis `Cluster` (checked by its flag, so two copies of ioredis agree). */
export function isRedisCluster(client: RedisBusClient): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

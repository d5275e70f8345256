import type { Redis } from 'ioredis';
import type { RedisPubSubMode } from './create-redis-pubsub';
import { isRedisCluster, type RedisBusClient } from './redis-bus-client';

/** The major version in an `INFO server` reply, or undefined when it has none. */
export function redisMajorVersion(info: string): number | undefined {
  const match = /^redis_version:(\d+)\./m.exec(info);
  return match ? Number(match[1]) : undefined;
}

/**
 * Picks the pub/sub the bus uses with `pubsub: 'auto'`: sharded on a Cluster whose masters all
 * run Redis 7 or later (it has SSUBSCRIBE / SPUBLISH), classic otherwise. A single Redis stays
 * on classic pub/sub: sharding gains nothing on one node, and classic keeps PSUBSCRIBE for
 * all-tenants subscriptions. Asked once per bus.
 */
export async function detectRedisPubSubMode(client: RedisBusClient): Promise<RedisPubSubMode> {
  if (!isRedisCluster(client)) return 'classic';
  // The first command waits until the Cluster is connected and knows its nodes.
  await client.ping();
  const masters: Redis[] = client.nodes('master');
  if (masters.length === 0) return 'classic';
  const versions = await Promise.all(
    masters.map(async (node) => redisMajorVersion(await node.info('server'))),
  );
  return versions.every((major) => major !== undefined && major >= 7) ? 'sharded' : 'classic';
}

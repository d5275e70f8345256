import type { RedisBusClient } from './redis-bus-client';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';

/**
 * Makes a tenant known to all-tenants subscribers under sharded pub/sub (decision 0013): adds it
 * to the registry set, announces it, then marks it registered in its meta hash, so the publish
 * script stops asking. Run after a publish whose script said the tenant is not registered yet; a
 * failure is retried on the tenant's next publish.
 */
export async function registerRedisBusTenant(
  redis: RedisBusClient,
  prefix: string,
  tenantId: string,
): Promise<void> {
  const registry = redisBusTenantRegistry(prefix);
  await redis.sadd(registry.key, tenantId);
  await redis.spublish(registry.channel, tenantId);
  await redis.hset(redisBusKeys(prefix, tenantId).meta, 'reg', 1);
}

import { formatBusCursor } from './bus-cursor';
import type { RedisBusClient } from './redis-bus-client';
import { redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';

/**
 * Makes a tenant known to all-tenants subscribers under sharded pub/sub (decision 0013): adds it
 * to the registry set, announces it (a renewal only when the set had lost it), then marks it
 * registered in its meta hash, so the publish script stops asking. Run after a publish whose script said the
 * tenant is not registered: its first publish in a stream, and again about once per history age
 * (when the script refreshes the TTLs), since the registry, on another Cluster node, may have
 * lost it. A failure is retried on the tenant's next publish.
 *
 * A first registration is announced as the tenant id: subscribers follow it from the start of
 * its stream. One the registry had lost (this `SADD` added it back) is announced as `<tenant> <cursor>` (its position now):
 * a subscription that did not follow it goes on from there, after a reset, since it cannot tell
 * which of the events before came after its own start. Subscribers of earlier versions ignore
 * that form (a tenant id holds no whitespace).
 */
export async function registerRedisBusTenant(
  redis: RedisBusClient,
  prefix: string,
  tenantId: string,
): Promise<void> {
  const registry = redisBusTenantRegistry(prefix);
  const { meta } = redisBusKeys(prefix, tenantId);
  const added = (await redis.sadd(registry.key, tenantId)) === 1;
  // reg 0: registered before, and due for renewal (the publish script wrote it); none: a new
  // stream, announced even when the set still had the tenant, since a subscription may have
  // dropped it when its meta expired.
  const [registered, epoch, seq] = await redis.hmget(meta, 'reg', 'epoch', 'seq');
  if (registered === null || epoch === null) {
    await redis.spublish(registry.channel, tenantId);
  } else if (added && epoch !== undefined) {
    // Whatever `reg` says: a renewal racing with this one may have set it already, after its own
    // SADD found the tenant this one had just put back.
    await redis.spublish(
      registry.channel,
      `${tenantId} ${formatBusCursor(epoch, Number(seq ?? 0))}`,
    );
  }
  await redis.hset(meta, 'reg', 1);
}

import { tenantIdSchema } from '@calltrack/core';
import { BusDeliveryError } from './bus-delivery-error';
import type { AllTenantsListener, TenantRegistryListener } from './create-redis-channel-hub';
import {
  createRedisTenantSubscriber,
  type RedisTenantSubscriber,
  type RedisTenantSubscriberStart,
} from './create-redis-tenant-subscriber';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import type { BusSubscribeOptions, BusSubscription } from './event-bus';
import { matchesSubscription } from './matches-subscription';
import type { RedisBusClient } from './redis-bus-client';
import { redisBusTenantRegistry } from './redis-bus-keys';
import type { RedisSubscribeContext } from './subscribe-redis-tenant';

/**
 * A subscription to every tenant. With classic pub/sub it is one pattern subscription: every
 * live message of every tenant, and a `reconnected` reset after an interruption (there is no
 * per-tenant position to catch up from).
 *
 * Sharded pub/sub has no patterns, so there it follows each tenant's stream like a tenant
 * subscription does: the tenants come from a registry (a set, plus a channel announcing new
 * ones) that publishers fill on a tenant's first publish. Tenants known when it starts are
 * followed from now; a tenant announced later from the start of its stream, so its first
 * events are replayed from history. After an interruption each tenant catches up from history;
 * resets name the tenant (`tenantId`).
 */
export function subscribeRedisAllTenants(
  context: RedisSubscribeContext & { redis: RedisBusClient; prefix: string },
  options: BusSubscribeOptions,
): BusSubscription {
  let detach = (): void => {};
  const queue = createSubscriptionQueue({
    maxBuffered: context.maxBufferedMessages,
    signal: options.signal,
    onEnd: () => {
      context.active.delete(queue);
      detach();
    },
  });
  if (!queue.open) return queue.subscription;
  context.active.add(queue);
  const matches = matchesSubscription(options);
  const fail = (error: unknown): void => {
    context.report(error instanceof Error ? error : new Error(String(error)));
    queue.cutOff();
  };
  context.hub.mode().then((mode) => {
    if (!queue.open) return;
    detach =
      mode === 'sharded'
        ? followRegistry(context, queue, matches, fail)
        : followPattern(context, queue, matches, fail);
  }, fail);
  return queue.subscription;
}

function followPattern(
  context: RedisSubscribeContext,
  queue: SubscriptionQueue,
  matches: ReturnType<typeof matchesSubscription>,
  fail: (error: unknown) => void,
): () => void {
  const { hub, report } = context;
  const listener: AllTenantsListener = {
    receive(message) {
      const { event } = message;
      if (event === undefined) return;
      let wanted: boolean;
      try {
        wanted = matches(event);
      } catch (error) {
        report(
          new BusDeliveryError({
            reason: 'filter',
            message: `The subscription's filter failed on event ${event.id} (${message.cursor}); skipped.`,
            tenantId: event.tenantId,
            cursor: message.cursor,
            cause: error,
          }),
        );
        return;
      }
      if (!wanted) return;
      try {
        queue.push({ type: 'event', cursor: message.cursor, event });
      } catch (error) {
        report(
          new BusDeliveryError({
            reason: 'subscriber',
            message: `Delivering event ${event.id} (${message.cursor}) failed; the subscription is ended.`,
            tenantId: event.tenantId,
            cursor: message.cursor,
            cause: error,
          }),
        );
        queue.cutOff();
      }
    },
    reconnected() {
      queue.push({ type: 'reset', recovered: false, reason: 'reconnected' });
    },
  };
  hub.attachAllTenants(listener).then(() => queue.markReady(), fail);
  return () => hub.detachAllTenants(listener);
}

function followRegistry(
  context: RedisSubscribeContext & { redis: RedisBusClient; prefix: string },
  queue: SubscriptionQueue,
  matches: ReturnType<typeof matchesSubscription>,
  fail: (error: unknown) => void,
): () => void {
  const { hub, report, redis } = context;
  const registry = redisBusTenantRegistry(context.prefix);
  const members = new Map<string, RedisTenantSubscriber>();
  let initial: Set<string> | undefined;
  let ended = false;

  // Members share the subscription's queue; the subscription is ready once every tenant known
  // at the start is.
  const follow = (tenantId: string, start: RedisTenantSubscriberStart): void => {
    if (ended || members.has(tenantId) || !tenantIdSchema.safeParse(tenantId).success) return;
    const subscriber = createRedisTenantSubscriber({
      tenantId,
      sink: {
        get open() {
          return queue.open;
        },
        push: (message, fromHistory) => queue.push(message, fromHistory),
        cutOff: () => queue.cutOff(),
        markReady: () => {
          if (initial?.delete(tenantId) && initial.size === 0) queue.markReady();
        },
      },
      matches,
      readHistory: hub.historyOf(tenantId),
      batchSize: context.batchSize,
      report,
      labelResets: true,
    });
    members.set(tenantId, subscriber);
    hub.attachTenant(tenantId, subscriber).then(() => subscriber.start(start), fail);
  };

  /** Reads the registry; tenants not followed yet are new since the last look. */
  const scan = async (start: RedisTenantSubscriberStart): Promise<void> => {
    const tenants = await redis.smembers(registry.key);
    if (ended) return;
    if (start.from === 'now') {
      initial = new Set(tenants.filter((tenantId) => !members.has(tenantId)));
      if (initial.size === 0) queue.markReady();
    }
    for (const tenantId of tenants) follow(tenantId, start);
  };

  const listener: TenantRegistryListener = {
    tenantAppeared: (tenantId) => follow(tenantId, { from: 'stream-start' }),
    reconnected: () => {
      scan({ from: 'stream-start' }).catch(report);
    },
  };
  // The announcements first, then the set: a tenant registered in between is in one or both.
  hub
    .attachRegistry(listener)
    .then(() => scan({ from: 'now' }))
    .catch(fail);
  return () => {
    ended = true;
    hub.detachRegistry(listener);
    for (const [tenantId, subscriber] of members) hub.detachTenant(tenantId, subscriber);
    members.clear();
  };
}

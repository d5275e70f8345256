import { toError } from '@calltrack/core/internal';
import type { RedisChannelHub } from './create-redis-channel-hub';
import {
  createRedisTenantSubscriber,
  type RedisTenantSubscriber,
} from './create-redis-tenant-subscriber';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import type { BusSubscribeOptions, BusSubscription } from './event-bus';
import type { HistoryReadFailures } from './history-read-failures';
import { matchesSubscription } from './matches-subscription';

/** What every Redis subscription needs from its bus. */
export interface RedisSubscribeContext {
  hub: RedisChannelHub;
  maxBufferedMessages: number;
  batchSize: number;
  report: (error: Error) => void;
  /** Failed history reads of every subscription, reported once per incident. */
  readFailures: HistoryReadFailures;
  /** The open subscriptions, ended when the bus closes. */
  active: Set<SubscriptionQueue>;
  /** Clock, for tests of idle members of all-tenants subscriptions. Default `Date.now`. */
  now?: () => number;
}

/**
 * A subscription to one tenant: attach live delivery first, then read history (from the cursor,
 * or just the position), so nothing published in between can be missed.
 */
export function subscribeRedisTenant(
  context: RedisSubscribeContext,
  tenantId: string,
  options: BusSubscribeOptions,
): BusSubscription {
  const { hub, report } = context;
  let subscriber: RedisTenantSubscriber | undefined;
  const queue = createSubscriptionQueue({
    maxBuffered: context.maxBufferedMessages,
    after: options.after,
    signal: options.signal,
    onEnd: () => {
      context.active.delete(queue);
      if (!subscriber) return;
      hub.detachTenant(tenantId, subscriber);
      // Now, not at its next retry: a read of another subscription may end the incident first.
      context.readFailures.ended(subscriber);
    },
  });
  if (!queue.open) return queue.subscription;
  context.active.add(queue);
  const created = createRedisTenantSubscriber({
    tenantId,
    sink: queue,
    matches: matchesSubscription(options),
    readHistory: hub.historyOf(tenantId),
    batchSize: context.batchSize,
    report,
    readFailures: context.readFailures,
  });
  subscriber = created;
  const { after } = options;
  hub.attachTenant(tenantId, created).then(
    () => created.start(after === undefined ? { from: 'now' } : { from: 'cursor', cursor: after }),
    (error: unknown) => {
      report(toError(error));
      // Nothing can be delivered without a live channel: end with `lagged`, so the subscriber
      // comes back (from its cursor) instead of waiting forever.
      queue.cutOff();
    },
  );
  return queue.subscription;
}

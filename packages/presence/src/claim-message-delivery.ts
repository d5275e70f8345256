import type { PresenceStatus } from '@calltrack/core';
import type { PresenceStoreSettings } from './presence-store';
import type { PresenceUserState } from './presence-tenant-state';
import type { MessageDelivery } from './queued-message';

/**
 * Drops queued messages older than `queueMaxAgeMs` (the oldest are first). Returns how many.
 */
export function dropExpiredMessages(
  user: PresenceUserState,
  at: number,
  settings: PresenceStoreSettings,
): number {
  let dropped = 0;
  while (user.queue.length > 0 && user.queue[0]!.sentAt + settings.queueMaxAgeMs <= at) {
    user.queue.shift();
    dropped += 1;
  }
  user.dropped += dropped;
  return dropped;
}

/**
 * The reference rule for delivery claims: a connected user (`online` or `away`) with queued
 * messages and no running claim gets a new claim, leased for `publishLeaseMs`, holding the
 * oldest `deliveryBatchSize` messages. An offline user's claim is released: messages wait
 * until they come back.
 */
export function claimMessageDelivery(
  user: PresenceUserState,
  status: PresenceStatus,
  at: number,
  settings: PresenceStoreSettings,
): { delivery?: MessageDelivery; dropped: number } {
  if (status === 'offline') {
    user.deliveryLease = undefined;
    return { dropped: 0 };
  }
  if (user.deliveryLease !== undefined && user.deliveryLease > at) return { dropped: 0 };
  const dropped = dropExpiredMessages(user, at, settings);
  if (user.queue.length === 0) {
    user.deliveryLease = undefined;
    return { dropped };
  }
  user.deliveryLease = at + settings.publishLeaseMs;
  return {
    delivery: {
      token: user.deliveryLease,
      messages: user.queue.slice(0, settings.deliveryBatchSize).map((message) => ({ ...message })),
    },
    dropped,
  };
}

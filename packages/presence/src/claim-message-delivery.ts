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
 * Whether a message published now reaches the user: they have a connection that is not leaving.
 * A user whose every connection is in its leave delay still counts as online (a page reload
 * emits nothing), but nothing of theirs is there to receive a message. Call it after settling
 * (expired connections removed).
 */
export function isUserReachable(user: PresenceUserState): boolean {
  for (const connection of user.connections.values()) if (!connection.leaving) return true;
  return false;
}

/**
 * The reference rule for delivery claims: a reachable user (a connection not leaving, online or
 * away; see {@link isUserReachable}) with queued messages and no running claim gets a new claim,
 * leased for `publishLeaseMs`, holding the oldest `deliveryBatchSize` messages. An unreachable
 * user's claim is released: messages wait until they connect again.
 */
export function claimMessageDelivery(
  user: PresenceUserState,
  at: number,
  settings: PresenceStoreSettings,
): { delivery?: MessageDelivery; dropped: number } {
  if (!isUserReachable(user)) {
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

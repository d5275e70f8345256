import type { PresenceStatus } from '@calltrack/core';
import { presenceEventId } from './presence-event-id';
import type { PresenceStoreSettings } from './presence-store';
import {
  type PresenceTenantState,
  type PresenceUserState,
  toPresenceRecord,
} from './presence-tenant-state';
import type { PresenceEventType, PresenceTransition } from './presence-transition';

/**
 * The reference rules every store follows when it settles a user at time `at` (the Redis
 * scripts implement the same steps):
 *
 * 1. Connections whose `expiresAt` has passed are removed.
 * 2. The status is computed: `online` when a connection is active (not set away, `idleAt` still
 *    ahead), else `away` when any connection remains, else `offline`.
 * 3. A transition is decided when the status differs from the one decided last
 *    (`presence.<status>`), or, with `explicitChange` (the state or a connection's data changed),
 *    as `presence.updated`. The version grows by one; the transition goes to the outbox, leased
 *    for `publishLeaseMs`.
 * 4. The next deadline (the earliest expiry, or idle time of an active connection) is recorded
 *    for the sweeper.
 * 5. An offline user's record is kept for the retention (set when they go offline, or when a
 *    write touches them while offline).
 */
export function settlePresenceUser(
  tenant: PresenceTenantState,
  user: PresenceUserState,
  at: number,
  settings: PresenceStoreSettings,
  options: { explicitChange: boolean; write: boolean },
): { status: PresenceStatus; transition?: PresenceTransition } {
  for (const [connectionId, connection] of user.connections) {
    if (connection.expiresAt <= at) user.connections.delete(connectionId);
  }
  let status: PresenceStatus = 'offline';
  let nextDeadline: number | undefined;
  for (const connection of user.connections.values()) {
    const active = !connection.away && connection.idleAt > at;
    if (active) status = 'online';
    else if (status === 'offline') status = 'away';
    nextDeadline = earliest(nextDeadline, connection.expiresAt);
    if (active) nextDeadline = earliest(nextDeadline, connection.idleAt);
  }
  user.nextDeadline = nextDeadline;

  let transition: PresenceTransition | undefined;
  const previousStatus = user.status;
  if (status !== previousStatus || options.explicitChange) {
    user.version += 1;
    if (status !== previousStatus) {
      user.status = status;
      user.since = at;
    }
    const type: PresenceEventType =
      status === previousStatus ? 'presence.updated' : `presence.${status}`;
    transition = {
      eventId: presenceEventId(user.userId, user.epoch, user.version),
      type,
      tenantId: tenant.tenantId,
      userId: user.userId,
      previousStatus,
      at,
      record: toPresenceRecord(tenant.tenantId, user),
    };
    tenant.outbox.set(transition.eventId, {
      deadline: at + settings.publishLeaseMs,
      transition,
    });
  }
  if (status !== 'offline') user.forgetAt = undefined;
  else if (options.write || status !== previousStatus) {
    user.forgetAt = at + Math.max(settings.offlineRetentionMs, settings.queueMaxAgeMs);
  }
  return transition ? { status, transition } : { status };
}

function earliest(current: number | undefined, candidate: number): number {
  return current === undefined || candidate < current ? candidate : current;
}

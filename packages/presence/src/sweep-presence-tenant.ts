import { claimMessageDelivery } from './claim-message-delivery';
import type { PresenceStoreSettings, PresenceSweepResult } from './presence-store';
import type { PresenceTenantState, PresenceUserState } from './presence-tenant-state';
import { settlePresenceUser } from './settle-presence-user';

/**
 * The reference sweep the memory store runs and the Redis script mirrors: settles the users
 * whose next deadline has passed or whose delivery claim ran out (earliest first, at most
 * `limit`), claims their deliveries, claims again the outbox transitions whose lease ran out
 * (at most `limit`), and forgets offline users past their retention.
 */
export function sweepPresenceTenant(
  tenant: PresenceTenantState,
  at: number,
  settings: PresenceStoreSettings,
  limit: number,
): PresenceSweepResult {
  const result: PresenceSweepResult = { transitions: [], deliveries: [], dropped: 0, more: false };
  const due: { user: PresenceUserState; time: number }[] = [];
  for (const [userId, user] of tenant.users) {
    if (user.forgetAt !== undefined && user.forgetAt <= at) {
      tenant.users.delete(userId);
      continue;
    }
    const times = [user.nextDeadline, user.deliveryLease].filter(
      (time): time is number => time !== undefined && time <= at,
    );
    if (times.length > 0) due.push({ user, time: Math.min(...times) });
  }
  due.sort(
    (a, b) =>
      a.time - b.time ||
      (a.user.userId < b.user.userId ? -1 : a.user.userId > b.user.userId ? 1 : 0),
  );
  if (due.length > limit) result.more = true;

  // Claimed before settling: what settling decides now is leased to this caller already.
  const expired = [...tenant.outbox.entries()]
    .filter(([, entry]) => entry.deadline <= at)
    .sort(([idA, a], [idB, b]) => a.deadline - b.deadline || (idA < idB ? -1 : idA > idB ? 1 : 0));
  if (expired.length > limit) result.more = true;
  for (const [, entry] of expired.slice(0, limit)) {
    entry.deadline = at + settings.publishLeaseMs;
    result.transitions.push(entry.transition);
  }

  for (const { user } of due.slice(0, limit)) {
    const { transition } = settlePresenceUser(tenant, user, at, settings, {
      explicitChange: false,
      write: false,
    });
    if (transition) result.transitions.push(transition);
    const claim = claimMessageDelivery(user, at, settings);
    result.dropped += claim.dropped;
    if (claim.delivery) result.deliveries.push({ userId: user.userId, delivery: claim.delivery });
  }
  return result;
}

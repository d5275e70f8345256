import {
  claimMessageDelivery,
  dropExpiredMessages,
  isUserReachable,
} from './claim-message-delivery';
import type {
  HeartbeatOutcome,
  PresenceApplyResult,
  PresenceOperation,
  PresenceStoreSettings,
} from './presence-store';
import {
  createPresenceUserState,
  type MemoryConnection,
  type PresenceTenantState,
  type PresenceUserState,
  toPresenceRecord,
} from './presence-tenant-state';
import { settlePresenceUser } from './settle-presence-user';

/**
 * Applies one operation to one user of `tenant`: the reference the memory store runs and the
 * Redis script mirrors (see {@link PresenceOperation} for each kind). An operation that reports
 * `missing` or `limit` changes nothing. A heartbeat that cannot change the user's status (see
 * {@link applyHeartbeatFastPath}) only refreshes the connection.
 */
export function applyPresenceOperation(
  tenant: PresenceTenantState,
  operation: PresenceOperation,
): PresenceApplyResult {
  const { at, settings } = operation;
  let user = tenant.users.get(operation.userId);
  if (user?.forgetAt !== undefined && user.forgetAt <= at) {
    tenant.users.delete(operation.userId);
    user = undefined;
  }
  const missing: PresenceApplyResult = { outcome: 'missing' };
  const live = (connection: MemoryConnection | undefined): connection is MemoryConnection =>
    connection !== undefined && connection.expiresAt > at && !connection.leaving;
  const refresh = (connection: MemoryConnection): void => {
    connection.lastSeenAt = at;
    connection.expiresAt = at + settings.connectionTtlMs;
    connection.idleAt = at + settings.awayAfterMs;
  };

  let created = false;
  const ensureUser = (): PresenceUserState => {
    if (!user) {
      user = createPresenceUserState(operation.userId, at);
      tenant.users.set(operation.userId, user);
      created = true;
    }
    return user;
  };

  let explicitChange = false;
  let mayClaim = true;
  switch (operation.kind) {
    case 'connect': {
      const existing = user?.connections.get(operation.connectionId);
      if (existing && existing.expiresAt > at) {
        explicitChange = existing.data !== operation.data;
        existing.leaving = false;
        existing.away = operation.away ?? false;
        setData(existing, operation.data);
        setToken(existing, operation.token);
        refresh(existing);
      } else {
        if (user && !makeRoom(user, at, settings.maxConnectionsPerUser)) {
          return { outcome: 'limit' };
        }
        const connection: MemoryConnection = {
          connectionId: operation.connectionId,
          connectedAt: at,
          lastSeenAt: at,
          expiresAt: at + settings.connectionTtlMs,
          idleAt: at + settings.awayAfterMs,
          away: operation.away ?? false,
          leaving: false,
        };
        setData(connection, operation.data);
        setToken(connection, operation.token);
        ensureUser().connections.set(operation.connectionId, connection);
      }
      if (restoresState(user!, operation.state, operation.stateAt)) {
        explicitChange ||= user!.state !== operation.state;
        user!.state = operation.state;
        if (operation.stateAt === undefined) delete user!.stateAt;
        else user!.stateAt = operation.stateAt;
      }
      break;
    }
    case 'heartbeat': {
      const fast = applyHeartbeatFastPath(user, operation.connectionId, at, settings);
      if (fast === 'missing') return missing;
      if (fast === 'ok') {
        return operation.read
          ? { outcome: 'ok', record: toPresenceRecord(tenant.tenantId, user!) }
          : { outcome: 'ok' };
      }
      const connection = user!.connections.get(operation.connectionId)!;
      // Expired but not removed yet (a paused process): the connection comes back.
      if (connection.expiresAt <= at) connection.connectedAt = at;
      refresh(connection);
      break;
    }
    case 'update': {
      const connection = user?.connections.get(operation.connectionId);
      if (!live(connection)) return missing;
      explicitChange = connection.data !== operation.data;
      setData(connection, operation.data);
      break;
    }
    case 'away': {
      const connection = user?.connections.get(operation.connectionId);
      if (!live(connection)) return missing;
      connection.away = operation.away;
      break;
    }
    case 'disconnect': {
      const connection = user?.connections.get(operation.connectionId);
      if (!user || !connection || connection.expiresAt <= at) return missing;
      // The close of an earlier life of a reused connection id, arriving after it connected again.
      if (isEarlierLife(connection, operation.token)) return missing;
      if (operation.immediate || settings.leaveDelayMs === 0) {
        user.connections.delete(operation.connectionId);
      } else if (!connection.leaving) {
        connection.leaving = true;
        connection.expiresAt = at + settings.leaveDelayMs;
      }
      break;
    }
    case 'state': {
      const target = ensureUser();
      explicitChange = target.state !== operation.state;
      target.state = operation.state;
      target.stateAt = at;
      break;
    }
    case 'settle':
      if (!user) return { outcome: 'ok' };
      break;
    case 'send':
      ensureUser();
      break;
    case 'ack': {
      if (!user) return { outcome: 'ok' };
      while (user.queue.length > 0 && user.queue[0]!.sequence <= operation.lastSequence) {
        user.queue.shift();
      }
      if (user.deliveryLease === operation.token) user.deliveryLease = undefined;
      else mayClaim = false;
      break;
    }
  }

  const target = user!;
  const { transition } = settlePresenceUser(tenant, target, at, settings, {
    explicitChange,
    write: operation.kind !== 'settle',
  });
  const result: PresenceApplyResult = { outcome: 'ok' };
  if (transition) result.transition = transition;
  let dropped = 0;
  if (operation.kind === 'send') {
    dropped += dropExpiredMessages(target, at, settings);
    target.lastSequence += 1;
    target.queue.push({
      sequence: target.lastSequence,
      messageId: operation.messageId,
      sentAt: at,
      body: operation.body,
    });
    while (target.queue.length > settings.queueMaxMessages) {
      target.queue.shift();
      target.dropped += 1;
      dropped += 1;
    }
    result.sequence = target.lastSequence;
    result.queued = !isUserReachable(target);
  }
  if (mayClaim) {
    const claim = claimMessageDelivery(target, at, settings);
    dropped += claim.dropped;
    if (claim.delivery) result.delivery = claim.delivery;
  }
  if (dropped > 0) result.dropped = dropped;
  if (created) result.created = true;
  if (operation.read) result.record = toPresenceRecord(tenant.tenantId, target);
  return result;
}

/**
 * A heartbeat's fast path: a connection that is not leaving or expired, and either active (not
 * set away) of an online user, or set away by the app of an away user, cannot change the user's
 * status, so it is only refreshed (`ok`). An away user has no active connection (only an
 * operation makes one active, and every operation decides the status), and a connection set
 * away stays inactive when refreshed. `missing`: the connection is unknown or leaving. `slow`:
 * nothing was changed; the full rules must run.
 */
export function applyHeartbeatFastPath(
  user: PresenceUserState | undefined,
  connectionId: string,
  at: number,
  settings: PresenceStoreSettings,
): HeartbeatOutcome {
  const connection = user?.connections.get(connectionId);
  if (!user || !connection || connection.leaving) return 'missing';
  const unchanged = connection.away ? user.status === 'away' : user.status === 'online';
  if (!unchanged || connection.expiresAt <= at) return 'slow';
  connection.lastSeenAt = at;
  connection.expiresAt = at + settings.connectionTtlMs;
  connection.idleAt = at + settings.awayAfterMs;
  return 'ok';
}

/**
 * Whether a connection registering again brings back a state the record should take: a state is
 * never unset, so a record without one lost it; and a record whose state was set before the one
 * brought back was rebuilt by a connection that knew an older one. A state without a time (from a
 * store that reports none) only fills a record without a state.
 */
function restoresState(
  user: PresenceUserState,
  state: string | undefined,
  stateAt: number | undefined,
): state is string {
  if (state === undefined) return false;
  if (user.state === undefined) return true;
  return stateAt !== undefined && (user.stateAt === undefined || user.stateAt < stateAt);
}

/**
 * Makes room for one more connection of `user` under `max`. Every connection not expired counts,
 * leaving ones too: a user who reconnects fast would otherwise pile up connections in their leave
 * delay, each with its data, and every event carries them all. The ones that have been leaving
 * longest are dropped first (ties: by id). False, with nothing dropped, when `max` connections
 * are not leaving.
 */
function makeRoom(user: PresenceUserState, at: number, max: number): boolean {
  const current = [...user.connections.values()].filter((connection) => connection.expiresAt > at);
  if (current.length < max) return true;
  const leaving = current.filter((connection) => connection.leaving);
  if (current.length - leaving.length >= max) return false;
  leaving.sort(
    (a, b) =>
      a.expiresAt - b.expiresAt ||
      (a.connectionId < b.connectionId ? -1 : a.connectionId > b.connectionId ? 1 : 0),
  );
  for (const connection of leaving.slice(0, current.length - max + 1)) {
    user.connections.delete(connection.connectionId);
  }
  return true;
}

function setToken(connection: MemoryConnection, token: string | undefined): void {
  if (token === undefined) delete connection.token;
  else connection.token = token;
}

/** Whether a disconnect's token names another life of the connection than the stored one. */
function isEarlierLife(connection: MemoryConnection, token: string | undefined): boolean {
  return token !== undefined && connection.token !== undefined && connection.token !== token;
}

function setData(connection: MemoryConnection, data: string | undefined): void {
  if (data === undefined) delete connection.data;
  else connection.data = data;
}

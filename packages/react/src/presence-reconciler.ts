import type { CallEvent, UserPresence } from '@calltrack/core';
import { callKey } from './active-calls-reconciler';

/** Options of {@link createPresenceReconciler}. @internal */
export interface PresenceReconcilerOptions {
  /**
   * Most users whose `presence.*` events are held while no members snapshot has arrived (the
   * newest event of each, the oldest user dropped). Default 1,000.
   */
  maxBuffered?: number;
}

/**
 * The client's view of presence, merged from the members snapshot a transport sends (on
 * connect, and again after a reset) and the `presence.*` events (the diffs), which each carry
 * the user's whole snapshot in `data.presence`. One tenant's, or every tenant's on a stream of
 * every tenant: users are kept by tenant and user id.
 * @internal
 */
export interface PresenceReconciler {
  /** True once a members snapshot has arrived (since the last reload began). */
  readonly isLoaded: boolean;
  /**
   * False when the last members snapshot was cut at the server's limit: connected users it left
   * out come with their next event. A snapshot that did not say (a server from before
   * `presenceSnapshotLimit`) is judged by its length (cut at 1,000 users or more, those servers'
   * limit).
   */
  readonly isComplete: boolean;
  /**
   * False once the server said this stream gets no members (an all-tenants stream: presence is
   * per tenant). Events are then neither held nor applied: none could ever be.
   */
  readonly isAvailable: boolean;
  /**
   * Applies a `presence.*` event; true when the members changed. Before the snapshot the event
   * is held, and applied on top of it when it comes.
   */
  applyEvent(event: CallEvent): boolean;
  /** Events missed: hold diffs again until the next snapshot. */
  beginReload(): void;
  /** The server sends no members on this stream: forget what is held, hold nothing more. */
  markUnavailable(): void;
  /**
   * Replaces the members with `members`, then applies the diffs held meanwhile. `complete`: what
   * the server said of them (see {@link PresenceReconciler.isComplete}).
   */
  applySnapshot(members: readonly UserPresence[], complete?: boolean): void;
  /** One user of `tenantId` as last seen (`offline` ones included), if presence reported them. */
  get(tenantId: string, userId: string): UserPresence | undefined;
  /** Connected users (online and away), by tenant id, then user id. */
  members(): UserPresence[];
  /**
   * Every user reported, offline ones included, by user id (a copy). A user id of several
   * tenants (a stream of every tenant) names the user of the first of them by tenant id.
   */
  users(): Map<string, UserPresence>;
  /** Every user reported, offline ones included, by tenant id, each tenant's by user id. */
  tenants(): Map<string, UserPresence[]>;
}

/** The largest members snapshot the servers send: one of this size may have been cut. */
const serversMembersLimit = 1_000;

/** By tenant id, then user id (code-unit order, as the servers list them). */
function byTenantAndUser(a: UserPresence, b: UserPresence): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

const defaultMaxBuffered = 1_000;

/** The `data.presence` of a `presence.*` event, when it has the shape presence publishes. */
export function presenceOfEvent(event: CallEvent): UserPresence | undefined {
  if (!event.type.startsWith('presence.')) return undefined;
  const presence = (event.data as { presence?: unknown } | undefined)?.presence as
    | Partial<UserPresence>
    | undefined;
  if (
    presence === undefined ||
    presence === null ||
    typeof presence.userId !== 'string' ||
    typeof presence.version !== 'number' ||
    typeof presence.status !== 'string'
  ) {
    return undefined;
  }
  return presence as UserPresence;
}

/**
 * Creates the reconciler. The rules (Phoenix Presence's, with presence's per-user `version`):
 *
 * - Of two snapshots of one user the higher `version` wins; an equal version keeps the object
 *   already held, so views selecting that user do not re-render for nothing.
 * - Users who went offline are kept (as offline, not listed by `members()`), so an older event
 *   arriving late cannot bring them back.
 * - Diffs that arrive before the snapshot (or after a reset, before the next one) are held, the
 *   newest of each user, at most `maxBuffered` users (the oldest dropped), and applied on top of
 *   the snapshot.
 * - Users are told apart by tenant and user id: two tenants' users may share an id.
 * - A stream the server sends no members on (`markUnavailable`) holds nothing.
 *
 * @internal
 */
export function createPresenceReconciler(
  options: PresenceReconcilerOptions = {},
): PresenceReconciler {
  const maxBuffered = options.maxBuffered ?? defaultMaxBuffered;
  /** By {@link callKey}(tenant, user). */
  let users = new Map<string, UserPresence>();
  let loaded = false;
  let available = true;
  let complete = true;
  /** The newest diff of each user, by {@link callKey}(tenant, user), oldest user first. */
  let held = new Map<string, UserPresence>();

  const keyOf = (presence: UserPresence): string => callKey(presence.tenantId, presence.userId);

  const merge = (presence: UserPresence): boolean => {
    const key = keyOf(presence);
    const current = users.get(key);
    if (current !== undefined && current.version >= presence.version) return false;
    users.set(key, presence);
    return true;
  };

  const hold = (presence: UserPresence): void => {
    const key = keyOf(presence);
    const current = held.get(key);
    if (current !== undefined && current.version >= presence.version) return;
    held.delete(key);
    held.set(key, presence);
    if (held.size > maxBuffered) {
      const oldest = held.keys().next().value;
      if (oldest !== undefined) held.delete(oldest);
    }
  };

  return {
    get isLoaded() {
      return loaded;
    },
    get isAvailable() {
      return available;
    },
    get isComplete() {
      return complete;
    },
    applyEvent(event) {
      if (!available) return false;
      const found = presenceOfEvent(event);
      if (found === undefined) return false;
      // The event's tenant is the user's (presence publishes them alike).
      const presence =
        found.tenantId === event.tenantId ? found : { ...found, tenantId: event.tenantId };
      if (!loaded) {
        hold(presence);
        return false;
      }
      return merge(presence);
    },
    beginReload() {
      loaded = false;
      held = new Map();
    },
    markUnavailable() {
      available = false;
      loaded = false;
      held = new Map();
      users = new Map();
    },
    applySnapshot(members, saidComplete) {
      available = true;
      complete =
        typeof saidComplete === 'boolean' ? saidComplete : members.length < serversMembersLimit;
      const next = new Map<string, UserPresence>();
      for (const member of members) {
        const key = keyOf(member);
        const current = users.get(key);
        // The same version as held: keep the object (its readers keep their render).
        next.set(
          key,
          current !== undefined && current.version === member.version ? current : member,
        );
      }
      // Offline users stay known, so a late event cannot revive them.
      for (const [key, user] of users) {
        if (!next.has(key) && user.status === 'offline') next.set(key, user);
      }
      users = next;
      loaded = true;
      const pending = held;
      held = new Map();
      for (const presence of pending.values()) merge(presence);
    },
    get(tenantId, userId) {
      return users.get(callKey(tenantId, userId));
    },
    users() {
      const byUser = new Map<string, UserPresence>();
      for (const user of [...users.values()].sort(byTenantAndUser)) {
        if (!byUser.has(user.userId)) byUser.set(user.userId, user);
      }
      return byUser;
    },
    members() {
      return [...users.values()].filter((user) => user.status !== 'offline').sort(byTenantAndUser);
    },
    tenants() {
      const byTenant = new Map<string, UserPresence[]>();
      for (const user of [...users.values()].sort(byTenantAndUser)) {
        const list = byTenant.get(user.tenantId);
        if (list === undefined) byTenant.set(user.tenantId, [user]);
        else list.push(user);
      }
      return byTenant;
    },
  };
}

import type { CallEvent, UserPresence } from '@calltrack/core';
import { callKey } from './active-calls-reconciler';

/** Options of {@link createPresenceReconciler}. @internal */
export interface PresenceReconcilerOptions {
  /**
   * Most users whose `presence.*` events are held while no members snapshot has arrived (the
   * newest event of each, the oldest user dropped). Default 1,000.
   */
  maxBuffered?: number;
  /** How long a user who went offline is kept (as offline). Default 5 minutes. */
  offlineRetentionMs?: number;
  /** Most offline users kept, the longest offline dropped first. Default 1,000. */
  maxOfflineUsers?: number;
  /** The clock offline times are read from. Default `Date.now`. */
  now?: () => number;
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
  /**
   * One user of `tenantId` as last seen (`offline` ones while kept), if presence reported them.
   */
  get(tenantId: string, userId: string): UserPresence | undefined;
  /** Connected users (online and away), by tenant id, then user id. */
  members(): UserPresence[];
  /**
   * Every user kept, offline ones included, by user id (a copy). A user id of several tenants
   * (a stream of every tenant) names the user of the first of them by tenant id.
   */
  users(): Map<string, UserPresence>;
  /** Every user kept, offline ones included, by tenant id, each tenant's by user id (copies). */
  tenants(): Map<string, UserPresence[]>;
  /** The tenants with a user kept, by tenant id (the reconciler's own list: do not change it). */
  tenantIds(): readonly string[];
  /**
   * One tenant's users kept, offline ones included, by user id (the reconciler's own list: do
   * not change it); empty for a tenant without one.
   */
  usersOf(tenantId: string): readonly UserPresence[];
  /**
   * The tenants whose users changed since the last call (or since the reconciler was made), so a
   * view rebuilds only theirs.
   */
  takeChangedTenants(): Set<string>;
}

/** The largest members snapshot the servers send: one of this size may have been cut. */
const serversMembersLimit = 1_000;

/** By tenant id, then user id (code-unit order, as the servers list them). */
function byTenantAndUser(a: UserPresence, b: UserPresence): number {
  if (a.tenantId !== b.tenantId) return a.tenantId < b.tenantId ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

const defaultMaxBuffered = 1_000;
const defaultOfflineRetentionMs = 5 * 60_000;
const defaultMaxOfflineUsers = 1_000;

/** The index of `userId` in `sorted` (by user id), or where it would go: `found` says which. */
function indexOfUser(
  sorted: readonly UserPresence[],
  userId: string,
): { index: number; found: boolean } {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const at = (sorted[middle] as UserPresence).userId;
    if (at === userId) return { index: middle, found: true };
    if (at < userId) low = middle + 1;
    else high = middle;
  }
  return { index: low, found: false };
}

/** The index of `value` in the sorted `list`, or where it would go. */
function indexOfString(list: readonly string[], value: string): { index: number; found: boolean } {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const at = list[middle] as string;
    if (at === value) return { index: middle, found: true };
    if (at < value) low = middle + 1;
    else high = middle;
  }
  return { index: low, found: false };
}

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
 *   arriving late cannot bring them back, for `offlineRetentionMs` after the client saw them go,
 *   and at most `maxOfflineUsers` of them (the longest offline dropped first): a long-lived
 *   view of a large tenant would otherwise keep every user it ever saw. They are dropped at the
 *   next change (an event or a snapshot), which reports the drop as a change.
 * - Each tenant's users are kept sorted by user id as they change (a binary search per event),
 *   not sorted again for every event.
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
  const offlineRetentionMs = options.offlineRetentionMs ?? defaultOfflineRetentionMs;
  const maxOfflineUsers = options.maxOfflineUsers ?? defaultMaxOfflineUsers;
  const now = options.now ?? Date.now;
  /** By {@link callKey}(tenant, user). */
  let users = new Map<string, UserPresence>();
  /** Each tenant's users (offline ones included), sorted by user id. */
  let byTenant = new Map<string, UserPresence[]>();
  /** The keys of `byTenant`, sorted. */
  let tenantIds: string[] = [];
  /** Tenants whose users changed since `takeChangedTenants()`. */
  let changedTenants = new Set<string>();
  /**
   * When each offline user was seen going offline (the client's clock), by {@link callKey}, in
   * that order: the longest offline first.
   */
  let offlineSince = new Map<string, number>();
  let loaded = false;
  let available = true;
  let complete = true;
  /** The newest diff of each user, by {@link callKey}(tenant, user), oldest user first. */
  let held = new Map<string, UserPresence>();

  const keyOf = (presence: UserPresence): string => callKey(presence.tenantId, presence.userId);

  /** Puts `presence` in its tenant's sorted list, in place of the user's older one. */
  const place = (presence: UserPresence): void => {
    const { tenantId } = presence;
    changedTenants.add(tenantId);
    const list = byTenant.get(tenantId);
    if (list === undefined) {
      byTenant.set(tenantId, [presence]);
      tenantIds.splice(indexOfString(tenantIds, tenantId).index, 0, tenantId);
      return;
    }
    const { index, found } = indexOfUser(list, presence.userId);
    if (found) list[index] = presence;
    else list.splice(index, 0, presence);
  };

  /** Forgets one user (`key` of `presence`) entirely. */
  const drop = (key: string, presence: UserPresence): void => {
    users.delete(key);
    offlineSince.delete(key);
    const { tenantId } = presence;
    const list = byTenant.get(tenantId);
    if (list === undefined) return;
    changedTenants.add(tenantId);
    const { index, found } = indexOfUser(list, presence.userId);
    if (found) list.splice(index, 1);
    if (list.length > 0) return;
    byTenant.delete(tenantId);
    const at = indexOfString(tenantIds, tenantId);
    if (at.found) tenantIds.splice(at.index, 1);
  };

  /** Notes when a user went offline, or that they are back. */
  const noteStatus = (key: string, presence: UserPresence): void => {
    if (presence.status !== 'offline') {
      offlineSince.delete(key);
      return;
    }
    // Already offline (a newer offline snapshot): keep when they went.
    if (!offlineSince.has(key)) offlineSince.set(key, now());
  };

  /** Drops offline users kept past the retention or the cap; true when any was. */
  const pruneOffline = (): boolean => {
    const oldestKept = now() - offlineRetentionMs;
    let pruned = false;
    for (const [key, since] of offlineSince) {
      if (since > oldestKept && offlineSince.size <= maxOfflineUsers) break;
      const presence = users.get(key);
      if (presence === undefined) offlineSince.delete(key);
      else drop(key, presence);
      pruned = true;
    }
    return pruned;
  };

  const merge = (presence: UserPresence): boolean => {
    const key = keyOf(presence);
    const current = users.get(key);
    if (current !== undefined && current.version >= presence.version) return false;
    users.set(key, presence);
    noteStatus(key, presence);
    place(presence);
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

  /** Every tenant held counts as changed, and the lists are made again from `users`. */
  const rebuild = (): void => {
    for (const tenantId of tenantIds) changedTenants.add(tenantId);
    byTenant = new Map();
    for (const user of [...users.values()].sort(byTenantAndUser)) {
      const list = byTenant.get(user.tenantId);
      if (list === undefined) byTenant.set(user.tenantId, [user]);
      else list.push(user);
    }
    tenantIds = [...byTenant.keys()];
    for (const tenantId of tenantIds) changedTenants.add(tenantId);
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
      const merged = merge(presence);
      return pruneOffline() || merged;
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
      offlineSince = new Map();
      rebuild();
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
      // Offline users stay known (while kept), so a late event cannot revive them.
      for (const [key, user] of users) {
        if (!next.has(key) && user.status === 'offline') next.set(key, user);
      }
      users = next;
      for (const key of [...offlineSince.keys()]) {
        if (users.get(key)?.status !== 'offline') offlineSince.delete(key);
      }
      for (const [key, user] of users) noteStatus(key, user);
      rebuild();
      loaded = true;
      const pending = held;
      held = new Map();
      for (const presence of pending.values()) merge(presence);
      pruneOffline();
    },
    get(tenantId, userId) {
      return users.get(callKey(tenantId, userId));
    },
    users() {
      const byUser = new Map<string, UserPresence>();
      for (const tenantId of tenantIds) {
        for (const user of byTenant.get(tenantId) ?? []) {
          if (!byUser.has(user.userId)) byUser.set(user.userId, user);
        }
      }
      return byUser;
    },
    members() {
      return tenantIds.flatMap((tenantId) =>
        (byTenant.get(tenantId) ?? []).filter((user) => user.status !== 'offline'),
      );
    },
    tenants() {
      return new Map(tenantIds.map((tenantId) => [tenantId, [...(byTenant.get(tenantId) ?? [])]]));
    },
    tenantIds() {
      return tenantIds;
    },
    usersOf(tenantId) {
      return byTenant.get(tenantId) ?? noUsers;
    },
    takeChangedTenants() {
      const changed = changedTenants;
      changedTenants = new Set();
      return changed;
    },
  };
}

const noUsers: readonly UserPresence[] = [];

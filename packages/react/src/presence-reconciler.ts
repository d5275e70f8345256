import type { CallEvent, UserPresence } from '@calltrack/core';

/** Options of {@link createPresenceReconciler}. @internal */
export interface PresenceReconcilerOptions {
  /** Most `presence.*` events held while no members snapshot has arrived. Default 1,000. */
  maxBuffered?: number;
}

/**
 * The client's view of the tenant's presence, merged from the members snapshot a transport
 * sends (on connect, and again after a reset) and the `presence.*` events (the diffs), which
 * each carry the user's whole snapshot in `data.presence`.
 * @internal
 */
export interface PresenceReconciler {
  /** True once a members snapshot has arrived (since the last reload began). */
  readonly isLoaded: boolean;
  /**
   * Applies a `presence.*` event; true when the members changed. Before the snapshot the event
   * is held, and applied on top of it when it comes.
   */
  applyEvent(event: CallEvent): boolean;
  /** Events missed: hold diffs again until the next snapshot. */
  beginReload(): void;
  /** Replaces the members with `members`, then applies the diffs held meanwhile. */
  applySnapshot(members: readonly UserPresence[]): void;
  /** One user as last seen (`offline` ones included), if presence reported them. */
  get(userId: string): UserPresence | undefined;
  /** Connected users (online and away), by user id. */
  members(): UserPresence[];
  /** Every user reported, offline ones included (a copy). */
  users(): Map<string, UserPresence>;
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
 * - Diffs that arrive before the snapshot (or after a reset, before the next one) are held, at
 *   most `maxBuffered` (the oldest dropped), and applied on top of the snapshot.
 *
 * @internal
 */
export function createPresenceReconciler(
  options: PresenceReconcilerOptions = {},
): PresenceReconciler {
  const maxBuffered = options.maxBuffered ?? defaultMaxBuffered;
  let users = new Map<string, UserPresence>();
  let loaded = false;
  let held: UserPresence[] = [];

  const merge = (presence: UserPresence): boolean => {
    const current = users.get(presence.userId);
    if (current !== undefined && current.version >= presence.version) return false;
    users.set(presence.userId, presence);
    return true;
  };

  return {
    get isLoaded() {
      return loaded;
    },
    applyEvent(event) {
      const presence = presenceOfEvent(event);
      if (presence === undefined) return false;
      if (!loaded) {
        held.push(presence);
        if (held.length > maxBuffered) held.shift();
        return false;
      }
      return merge(presence);
    },
    beginReload() {
      loaded = false;
      held = [];
    },
    applySnapshot(members) {
      const next = new Map<string, UserPresence>();
      for (const member of members) {
        const current = users.get(member.userId);
        // The same version as held: keep the object (its readers keep their render).
        next.set(
          member.userId,
          current !== undefined && current.version === member.version ? current : member,
        );
      }
      // Offline users stay known, so a late event cannot revive them.
      for (const [userId, user] of users) {
        if (!next.has(userId) && user.status === 'offline') next.set(userId, user);
      }
      users = next;
      loaded = true;
      const pending = held;
      held = [];
      for (const presence of pending) merge(presence);
    },
    get(userId) {
      return users.get(userId);
    },
    users() {
      return new Map(users);
    },
    members() {
      return [...users.values()]
        .filter((user) => user.status !== 'offline')
        .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    },
  };
}

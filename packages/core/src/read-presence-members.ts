import type { ConnectionPresence } from './connection-presence';
import type { UserPresence } from './user-presence';

/**
 * Most users in a members snapshot unless the transport's `presenceSnapshotLimit` says
 * otherwise: presence's own default for `listMembers`, which tenant snapshots used before they
 * said whether they were cut. The same bound for a snapshot of every tenant, counted over all of
 * them.
 */
const membersSnapshotLimit = 1000;

/** The most users `createPresence()` lists at once (its `limit` is 1–10,000). */
const presenceMaxLimit = 10_000;

/** The members of one snapshot, and whether they are every connected user of its view. */
export interface PresenceMembersRead {
  members: UserPresence[];
  /** False when the limit left connected users out. */
  complete: boolean;
}

/**
 * Whether a stream of every tenant can get members from `presence`: it lists across tenants.
 * Without it such a stream is told presence is not available on it.
 * @internal Shared by `@calltrack/sse`, `@calltrack/socket.io` and `@calltrack/trpc`.
 */
export function listsMembersAcrossTenants(presence: ConnectionPresence): boolean {
  return typeof presence.listMembersAcrossTenants === 'function';
}

/**
 * Reads a transport's members snapshot: at most `limit` (1–10,000, checked by the transports;
 * default 1,000) connected users of `tenantId`, or of every tenant when undefined (tenant after
 * tenant, each by user id; presence must then {@link listsMembersAcrossTenants}). One user more
 * is asked for, so that a list the limit cut is told from one that merely fills it; at
 * presence's largest limit that cannot be told, and a full list counts as cut (as
 * `readActiveCallsSnapshot` does for calls).
 * @internal Shared by `@calltrack/sse`, `@calltrack/socket.io` and `@calltrack/trpc`.
 */
export async function readPresenceMembers(
  presence: ConnectionPresence,
  tenantId: string | undefined,
  limit = membersSnapshotLimit,
): Promise<PresenceMembersRead> {
  const asked = { limit: Math.min(limit + 1, presenceMaxLimit) };
  const members =
    tenantId === undefined
      ? await (
          presence.listMembersAcrossTenants as NonNullable<
            ConnectionPresence['listMembersAcrossTenants']
          >
        ).call(presence, asked)
      : await presence.listMembers(tenantId, asked);
  const complete = members.length < asked.limit;
  return { members: members.length > limit ? members.slice(0, limit) : members, complete };
}

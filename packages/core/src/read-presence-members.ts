import type { ConnectionPresence } from './connection-presence';
import type { UserPresence } from './user-presence';

/**
 * Most users in a members snapshot: presence's own default for `listMembers`, which tenant
 * snapshots used before they said whether they were cut. The same bound for a snapshot of every
 * tenant, counted over all of them.
 */
const membersSnapshotLimit = 1000;

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
 * Reads a transport's members snapshot: at most 1,000 connected users of `tenantId`, or of every
 * tenant when undefined (tenant after tenant, each by user id; presence must then
 * {@link listsMembersAcrossTenants}). One user more is asked for, so that a list the limit cut is
 * told from one that merely fills it.
 * @internal Shared by `@calltrack/sse`, `@calltrack/socket.io` and `@calltrack/trpc`.
 */
export async function readPresenceMembers(
  presence: ConnectionPresence,
  tenantId: string | undefined,
): Promise<PresenceMembersRead> {
  const limit = membersSnapshotLimit + 1;
  const members =
    tenantId === undefined
      ? await (
          presence.listMembersAcrossTenants as NonNullable<
            ConnectionPresence['listMembersAcrossTenants']
          >
        ).call(presence, { limit })
      : await presence.listMembers(tenantId, { limit });
  if (members.length <= membersSnapshotLimit) return { members, complete: true };
  return { members: members.slice(0, membersSnapshotLimit), complete: false };
}

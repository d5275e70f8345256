import type { CallSnapshot } from '@calltrack/core';

/**
 * Where presence reads active calls from (`PresenceOptions.calls`): a `CallTracker`, or anything
 * with its `listActiveCalls`. `userId` asks for one user's calls (`agentId` or `userId`), all of
 * them; a reader that does not know it answers the tenant's calls, which presence filters.
 */
export interface PresenceCallsReader {
  listActiveCalls(
    tenantId: string,
    options?: { limit?: number; userId?: string },
  ): Promise<CallSnapshot[]>;
}

/** The most a read of active calls returns (the tracker's `listActiveCalls` maximum). */
export const activeCallsReadLimit = 10_000;

/** The users a call makes busy: its `agentId` and its `userId` (once when they are the same). */
function usersOf(call: CallSnapshot): Set<string> {
  const users = new Set<string>();
  if (call.agentId !== undefined) users.add(call.agentId);
  if (call.userId !== undefined) users.add(call.userId);
  return users;
}

/**
 * The tenant's active calls by user, from one read of at most {@link activeCallsReadLimit}
 * calls, newest first. `complete` is false when the read was full: the tenant may have more
 * calls, so a user with none here may still have one (ask {@link readActiveCallsOfUser}).
 */
export async function readActiveCallsByUser(
  calls: PresenceCallsReader,
  tenantId: string,
): Promise<{ byUser: Map<string, string[]>; complete: boolean }> {
  const byUser = new Map<string, string[]>();
  const list = await calls.listActiveCalls(tenantId, { limit: activeCallsReadLimit });
  for (const call of list) {
    for (const id of usersOf(call)) {
      const ids = byUser.get(id);
      if (ids) ids.push(call.callId);
      else byUser.set(id, [call.callId]);
    }
  }
  return { byUser, complete: list.length < activeCallsReadLimit };
}

/** The ids of one user's active calls, newest first: what makes an agent busy. */
export async function readActiveCallsOfUser(
  calls: PresenceCallsReader,
  tenantId: string,
  userId: string,
): Promise<string[]> {
  const list = await calls.listActiveCalls(tenantId, { userId, limit: activeCallsReadLimit });
  return list.filter((call) => usersOf(call).has(userId)).map((call) => call.callId);
}

import type { CallSnapshot } from '@calltrack/core';

/** A call of a list of active calls, naming where the next page starts (`after`). */
export interface ActiveCallsPosition {
  callId: string;
  startedAt?: string;
}

/**
 * Where presence reads active calls from (`PresenceOptions.calls`): a `CallTracker`, or anything
 * with its `listActiveCalls`. `userId` asks for one user's calls (`agentId` or `userId`), all of
 * them; a reader that does not know it answers the tenant's calls, which presence filters.
 * `after` asks for the page after that call (newest `startedAt` first, ties by call id from the
 * highest); a reader that does not know it answers the first page again, and presence asks per
 * user instead.
 */
export interface PresenceCallsReader {
  listActiveCalls(
    tenantId: string,
    options?: { limit?: number; userId?: string; after?: ActiveCallsPosition },
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

/** Active calls by user id: the ids of the calls each user is on, newest first. */
export type ActiveCallsByUser = Map<string, string[]>;

/** What {@link readActiveCallsByUser} read: the first page of the tenant's active calls. */
export interface FirstActiveCallsPage {
  byUser: ActiveCallsByUser;
  /** The page's last call when the page was full: the tenant may have more calls past it. */
  more?: CallSnapshot;
  /** The ids of the calls read (a later page may repeat one whose start moved earlier). */
  seen: Set<string>;
}

/** The call's start in ms, as the tracker orders active calls by it (none: 0). */
const startOf = (call: ActiveCallsPosition): number =>
  call.startedAt === undefined ? 0 : Date.parse(call.startedAt);

/** Whether `call` comes after `position` in the list's order: what a page after it must hold. */
const isListedAfter = (call: CallSnapshot, position: ActiveCallsPosition): boolean =>
  startOf(call) < startOf(position) ||
  (startOf(call) === startOf(position) && call.callId < position.callId);

/** Adds the calls of `list` not in `seen` to `byUser`. */
function addCalls(byUser: ActiveCallsByUser, seen: Set<string>, list: CallSnapshot[]): void {
  for (const call of list) {
    if (seen.has(call.callId)) continue;
    seen.add(call.callId);
    for (const id of usersOf(call)) {
      const ids = byUser.get(id);
      if (ids) ids.push(call.callId);
      else byUser.set(id, [call.callId]);
    }
  }
}

/**
 * The tenant's active calls by user, from the first page (at most {@link activeCallsReadLimit}
 * calls, the newest). When it was full, {@link readMoreActiveCalls} reads the rest.
 */
export async function readActiveCallsByUser(
  calls: PresenceCallsReader,
  tenantId: string,
): Promise<FirstActiveCallsPage> {
  const byUser: ActiveCallsByUser = new Map();
  const seen = new Set<string>();
  const list = await calls.listActiveCalls(tenantId, { limit: activeCallsReadLimit });
  addCalls(byUser, seen, list);
  const last = list.length < activeCallsReadLimit ? undefined : list[list.length - 1];
  return last === undefined ? { byUser, seen } : { byUser, seen, more: last };
}

/**
 * Reads the tenant's active calls past a full first page into its `byUser`, a page after the
 * last at a time: one walk of the calls for a whole member list, not one per member. True when
 * it read them all; false when the reader does not page (a page did not start after the
 * previous one's last call): then ask per user ({@link readActiveCallsOfUser}).
 */
export async function readMoreActiveCalls(
  calls: PresenceCallsReader,
  tenantId: string,
  first: FirstActiveCallsPage,
): Promise<boolean> {
  const { byUser, seen } = first;
  let last = first.more;
  while (last !== undefined) {
    const after: ActiveCallsPosition =
      last.startedAt === undefined
        ? { callId: last.callId }
        : { callId: last.callId, startedAt: last.startedAt };
    const list = await calls.listActiveCalls(tenantId, { limit: activeCallsReadLimit, after });
    if (list.length > 0 && !isListedAfter(list[0]!, after)) return false;
    addCalls(byUser, seen, list);
    last = list.length < activeCallsReadLimit ? undefined : list[list.length - 1];
  }
  return true;
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

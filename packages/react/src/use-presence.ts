'use client';

import type { CallSnapshot, PresenceStatus, UserPresence } from '@calltrack/core';
import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

/** What {@link usePresence} returns. */
export interface UsePresenceResult {
  /** The user's presence as last reported; undefined while unknown. */
  presence: UserPresence | undefined;
  /** `online`, `away` or `offline` (also while unknown). */
  status: PresenceStatus;
  /** The app-set state (`available`, `break`…); undefined while unknown. */
  state: string | undefined;
  /** Ids of the active calls with this user as `agentId` or `userId`, from the active calls. */
  calls: readonly string[];
  /** True while the user is on an active call (busy for routing). */
  onCall: boolean;
  /** True once the members snapshot has arrived (until then, unknown users may be online). */
  isLoaded: boolean;
}

const noCalls: readonly string[] = [];

function callsOf(calls: readonly CallSnapshot[], userId: string | undefined): readonly string[] {
  if (userId === undefined) return noCalls;
  const mine = calls.filter((call) => call.agentId === userId || call.userId === userId);
  return mine.length === 0 ? noCalls : mine.map((call) => call.callId);
}

const sameIds = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((id, index) => id === b[index]);

const selectLoaded = (state: CallTrackState) => state.presence.isLoaded;

/**
 * One user's presence (`userId`), or the signed-in user's (the client's `userId` option) when
 * called without one: status, app state and the active calls they are on. Re-renders when that
 * user's presence or calls change, not for other users.
 *
 * Setting the state goes through your own API (which calls `presence.setState` on the server);
 * the `presence.updated` event then updates every board, this one included.
 */
export function usePresence(userId?: string): UsePresenceResult {
  const target = useCallTrackState((state) => userId ?? state.userId);
  const presence = useCallTrackState((state) =>
    target === undefined ? undefined : state.presence.users.get(target),
  );
  const calls = useCallTrackState((state) => callsOf(state.activeCalls, target), sameIds);
  const isLoaded = useCallTrackState(selectLoaded);
  return {
    presence,
    status: presence?.status ?? 'offline',
    state: presence?.state,
    calls,
    onCall: calls.length > 0,
    isLoaded,
  };
}

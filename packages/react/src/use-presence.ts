'use client';

import type { CallSnapshot, PresenceStatus, UserPresence } from '@calltrack/core';
import { useCallback } from 'react';
import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

/** What {@link usePresence} returns. */
export interface UsePresenceResult {
  /**
   * The user's presence as last reported; undefined while unknown, and once the client no longer
   * keeps them after they went offline (its `presence` option: five minutes by default).
   */
  presence: UserPresence | undefined;
  /** `online`, `away` or `offline` (also while unknown). */
  status: PresenceStatus;
  /** The app-set state (`available`, `break`…); undefined while unknown. */
  state: string | undefined;
  /**
   * The active calls with this user as `agentId` or `userId`, from the active calls, by tenant
   * and call id: a console of every tenant holds calls of several tenants, which may share an id.
   */
  calls: readonly { tenantId: string; callId: string }[];
  /** True while the user is on an active call (busy for routing). */
  onCall: boolean;
  /** True once the members snapshot has arrived (until then, unknown users may be online). */
  isLoaded: boolean;
  /**
   * False when the server said this stream gets no presence: a stream of every tenant from a
   * server whose presence cannot list every tenant's members. `isLoaded` then stays false for
   * good: show "presence not available", not a spinner.
   */
  isAvailable: boolean;
}

type PresenceCall = UsePresenceResult['calls'][number];

const noCalls: readonly PresenceCall[] = [];

function callsOf(
  calls: readonly CallSnapshot[],
  userId: string | undefined,
  tenantId: string | undefined,
): readonly PresenceCall[] {
  if (userId === undefined) return noCalls;
  const mine = calls.filter(
    (call) =>
      (call.agentId === userId || call.userId === userId) &&
      (tenantId === undefined || call.tenantId === tenantId),
  );
  return mine.length === 0
    ? noCalls
    : mine.map((call) => ({ tenantId: call.tenantId, callId: call.callId }));
}

const sameCalls = (a: readonly PresenceCall[], b: readonly PresenceCall[]): boolean =>
  a.length === b.length &&
  a.every((call, index) => call.callId === b[index]?.callId && call.tenantId === b[index].tenantId);

const selectLoaded = (state: CallTrackState) => state.presence.isLoaded;
const selectAvailable = (state: CallTrackState) => state.presence.isAvailable;

/**
 * One user's presence (`userId`), or the signed-in user's (the client's `userId` option) when
 * called without one: status, app state and the active calls they are on. Re-renders when that
 * user's presence or calls change, not for other users.
 *
 * User ids belong to a tenant. A client that sees every tenant (an `allTenants` principal, an
 * operations console) holds every tenant's calls and presence: pass the user's tenant,
 * `usePresence(userId, { tenantId })`, for that tenant's user alone (without it, `presence` is
 * the user of that id of the first tenant by id, and `calls` are every tenant's).
 *
 * Setting the state goes through your own API (which calls `presence.setState` on the server);
 * the `presence.updated` event then updates every board, this one included.
 */
export function usePresence(userId?: string, options?: { tenantId?: string }): UsePresenceResult {
  const tenantId = options?.tenantId;
  const target = useCallTrackState((state) => userId ?? state.userId);
  const presence = useCallTrackState((state) => {
    if (target === undefined) return undefined;
    return tenantId === undefined
      ? state.presence.users.get(target)
      : state.presence.byTenant.get(tenantId)?.users.get(target);
  });
  const selectCalls = useCallback(
    (state: CallTrackState) => callsOf(state.activeCalls, target, tenantId),
    [target, tenantId],
  );
  const calls = useCallTrackState(selectCalls, sameCalls);
  const isLoaded = useCallTrackState(selectLoaded);
  const isAvailable = useCallTrackState(selectAvailable);
  return {
    presence,
    status: presence?.status ?? 'offline',
    state: presence?.state,
    calls,
    onCall: calls.length > 0,
    isLoaded,
    isAvailable,
  };
}

'use client';

import type { CallSnapshot } from '@calltrack/core';
import { useCallback, useEffect } from 'react';
import type { CallTrackState } from './call-track-state';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/**
 * One call's latest state, kept after it ends (so a detail view can show the outcome). Watches
 * the call while mounted, stops when unmounted. Undefined until the call is known, and again
 * when it is no longer known: after a reset (missed events) the reloaded active calls no longer
 * list it and it could not be read again through the client's `api` (never shown as active when
 * it may have ended; a snapshot cut at its limit proves nothing, and leaves it as it was).
 * Re-renders only when this call changes, not on the events of other calls.
 */
export function useCall(callId: string): CallSnapshot | undefined {
  const client = useCallTrackClient();
  useEffect(() => client.watchCall(callId), [client, callId]);
  const selectCall = useCallback(
    (state: CallTrackState) =>
      state.watchedCalls.get(callId) ?? activeCallsById(state.activeCalls).get(callId),
    [callId],
  );
  return useCallTrackState(selectCall);
}

/** The active calls by id, built once per list: N rows looking up their call cost O(N), not N². */
const indexes = new WeakMap<readonly CallSnapshot[], Map<string, CallSnapshot>>();

function activeCallsById(calls: readonly CallSnapshot[]): Map<string, CallSnapshot> {
  let index = indexes.get(calls);
  if (index === undefined) {
    index = new Map(calls.map((call) => [call.callId, call]));
    indexes.set(calls, index);
  }
  return index;
}

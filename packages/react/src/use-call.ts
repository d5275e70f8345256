'use client';

import { useEffect } from 'react';
import type { ActiveCall } from './active-call';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/**
 * One call's latest state, kept after it ends (so a detail view can show the outcome). Watches
 * the call while mounted, stops when unmounted. Undefined until the call is known.
 */
export function useCall(callId: string): ActiveCall | undefined {
  const client = useCallTrackClient();
  const state = useCallTrackState();
  useEffect(() => client.watchCall(callId), [client, callId]);
  return state.watchedCalls.get(callId) ?? state.activeCalls.find((call) => call.callId === callId);
}

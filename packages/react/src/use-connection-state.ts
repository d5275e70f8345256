'use client';

import type { CallTrackConnectionState, CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

const selectConnection = (state: CallTrackState): CallTrackConnectionState => state.connection;

/**
 * `{ isConnected, reconnecting, error }` of the provider's client (`error`: why the transport
 * gave up, e.g. a 401). Re-renders only when the connection opens, drops or gives up, not on
 * events; read the last event with
 * `useCallTrackState((state) => state.lastEvent)`.
 */
export function useConnectionState(): CallTrackConnectionState {
  return useCallTrackState(selectConnection);
}

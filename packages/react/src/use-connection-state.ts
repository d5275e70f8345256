'use client';

import type { CallTrackConnectionState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

/** `{ isConnected, reconnecting, lastEvent, lastCursor }` of the provider's client. */
export function useConnectionState(): CallTrackConnectionState {
  return useCallTrackState().connection;
}

'use client';

import { useSyncExternalStore } from 'react';
import type { CallTrackState } from './call-track-state';
import { useCallTrackClient } from './use-call-track-client';

/** The client's whole state, re-rendering on every change. */
export function useCallTrackState(): CallTrackState {
  const client = useCallTrackClient();
  return useSyncExternalStore(client.subscribe, client.getSnapshot, client.getSnapshot);
}

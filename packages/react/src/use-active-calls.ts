'use client';

import type { ActiveCall } from './active-call';
import type { CallTrackRefreshOptions } from './create-call-track-client';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/** What {@link useActiveCalls} returns. */
export interface UseActiveCallsResult {
  /** The tenant's active calls, newest first. */
  calls: readonly ActiveCall[];
  /** True once the first snapshot has arrived. */
  isLoaded: boolean;
  /**
   * Reloads the snapshot; resolves once it is applied, rejects with a `CallTrackRefreshError`
   * when the connection closes first or no snapshot comes within `timeoutMs` (default 10 s).
   */
  refresh: (options?: CallTrackRefreshOptions) => Promise<void>;
}

/** The active calls, live: the snapshot plus every update, ended calls removed. */
export function useActiveCalls(): UseActiveCallsResult {
  const client = useCallTrackClient();
  const state = useCallTrackState();
  return { calls: state.activeCalls, isLoaded: state.hasSnapshot, refresh: client.refresh };
}

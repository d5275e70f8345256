'use client';

import type { CallSnapshot } from '@calltrack/core';
import type { CallTrackState } from './call-track-state';
import type { CallTrackRefreshOptions } from './create-call-track-client';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/** What {@link useActiveCalls} returns. */
export interface UseActiveCallsResult {
  /** The tenant's active calls, newest first. */
  calls: readonly CallSnapshot[];
  /** True once the first snapshot has arrived. */
  isLoaded: boolean;
  /**
   * Reloads the snapshot; resolves once it is applied, rejects with a `CallTrackRefreshError`
   * when the connection closes first, the transport cannot load it, or no snapshot comes within
   * `timeoutMs` (default 10 s).
   */
  refresh: (options?: CallTrackRefreshOptions) => Promise<void>;
}

const selectCalls = (state: CallTrackState) => state.activeCalls;
const selectLoaded = (state: CallTrackState) => state.hasSnapshot;

/**
 * The active calls, live: the snapshot plus every update, ended calls removed. Re-renders when
 * the list changes, not on events that leave it as it is (an enrichment of an ended call, an
 * event of another hook's call that is not active).
 */
export function useActiveCalls(): UseActiveCallsResult {
  const client = useCallTrackClient();
  const calls = useCallTrackState(selectCalls);
  const isLoaded = useCallTrackState(selectLoaded);
  return { calls, isLoaded, refresh: client.refresh };
}

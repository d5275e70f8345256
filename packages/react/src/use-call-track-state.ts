'use client';

import { useSyncExternalStoreWithSelector } from 'use-sync-external-store/with-selector';
import type { CallTrackState } from './call-track-state';
import { useCallTrackClient } from './use-call-track-client';

const wholeState = (state: CallTrackState): CallTrackState => state;

/**
 * The client's state, or the part of it that `selector` picks. The component re-renders only
 * when the selected value changes (`Object.is`, or `isEqual` when given), so select as little as
 * you need: `useCallTrackState((state) => state.lastEvent)`. Without a selector it re-renders on
 * every change of the state, which includes every event.
 *
 * The selector may be an inline function; it should return parts of the state (which keep their
 * identity until they change) or values derived from them, not a new object on every call
 * (pass `isEqual` for that).
 *
 * @example
 * const liveCount = useCallTrackState((state) => state.activeCalls.length);
 */
export function useCallTrackState(): CallTrackState;
export function useCallTrackState<Selected>(
  selector: (state: CallTrackState) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected;
export function useCallTrackState<Selected>(
  selector?: (state: CallTrackState) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected | CallTrackState {
  const client = useCallTrackClient();
  return useSyncExternalStoreWithSelector<CallTrackState, Selected | CallTrackState>(
    client.subscribe,
    client.getSnapshot,
    client.getSnapshot,
    selector ?? wholeState,
    isEqual as
      | ((a: Selected | CallTrackState, b: Selected | CallTrackState) => boolean)
      | undefined,
  );
}

import type { CallTrackState } from '../call-track-state';
import type { CallTrackClient } from '../create-call-track-client';

/** Resolves once `predicate(state)` holds (checked now and on every change). */
export function until(
  client: CallTrackClient,
  predicate: (state: CallTrackState) => boolean,
): Promise<CallTrackState> {
  return new Promise<CallTrackState>((resolve) => {
    const check = (): void => {
      const state = client.getSnapshot();
      if (predicate(state)) {
        unsubscribe();
        resolve(state);
      }
    };
    const unsubscribe = client.subscribe(check);
    check();
  });
}

/** The active calls' ids, sorted. */
export const ids = (state: CallTrackState): string[] =>
  state.activeCalls.map((call) => call.callId).sort();

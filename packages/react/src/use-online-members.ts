'use client';

import type { UserPresence } from '@calltrack/core';
import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

const selectMembers = (state: CallTrackState) => state.presence.members;

/**
 * The tenant's connected users (online and away, by user id), live: the members snapshot plus
 * every `presence.*` event. Empty on a stream of every tenant, which gets no members (presence is
 * per tenant; `state.presence.isAvailable` is then false). Re-renders when the list changes. Pass a selector to re-render only
 * when what it picks changes (`Object.is`, or `isEqual`), as with `useCallTrackState`:
 *
 * @example
 * const available = useOnlineMembers(
 *   (members) => members.filter((member) => member.state === 'available').map((m) => m.userId),
 *   (a, b) => a.join() === b.join(),
 * );
 */
export function useOnlineMembers(): readonly UserPresence[];
export function useOnlineMembers<Selected>(
  selector: (members: readonly UserPresence[]) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected;
export function useOnlineMembers<Selected>(
  selector?: (members: readonly UserPresence[]) => Selected,
  isEqual?: (a: Selected, b: Selected) => boolean,
): Selected | readonly UserPresence[] {
  return useCallTrackState<Selected | readonly UserPresence[]>(
    selector === undefined ? selectMembers : (state) => selector(state.presence.members),
    isEqual as
      | ((a: Selected | readonly UserPresence[], b: Selected | readonly UserPresence[]) => boolean)
      | undefined,
  );
}

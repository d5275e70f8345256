'use client';

import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';

const selectCount = (state: CallTrackState) => state.presence.count;

/**
 * How many of the tenant's users are online and away (`{ online, away }`). Re-renders only when
 * a count changes, not when members change state or connections. Zeros on a stream of every
 * tenant, which gets no members (presence is per tenant; `state.presence.isAvailable` is then
 * false).
 */
export function useMemberCount(): { online: number; away: number } {
  return useCallTrackState(selectCount);
}

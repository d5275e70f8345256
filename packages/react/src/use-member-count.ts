'use client';

import type { CallTrackState } from './call-track-state';
import { useCallTrackState } from './use-call-track-state';
import type { PresenceScopeOptions } from './use-online-members';

const zero: { online: number; away: number } = { online: 0, away: 0 };
const selectCount = (state: CallTrackState) => state.presence.count;

/**
 * How many users are online and away (`{ online, away }`): of the tenant on a tenant's stream, of
 * every tenant on a stream of every tenant, or of the tenant given (`{ tenantId }`, zeros for a
 * tenant with nobody). Re-renders only when a count changes, not when members change state or
 * connections. Zeros when the server said presence is not available on the stream
 * (`state.presence.isAvailable` false).
 */
export function useMemberCount(options?: PresenceScopeOptions): {
  online: number;
  away: number;
} {
  const tenantId = options?.tenantId;
  return useCallTrackState(
    tenantId === undefined
      ? selectCount
      : (state) => state.presence.byTenant.get(tenantId)?.count ?? zero,
  );
}

'use client';

import type { CallSnapshot } from '@calltrack/core';
import { useCallback, useEffect } from 'react';
import { callKey } from './active-calls-reconciler';
import type { CallTrackState } from './call-track-state';
import type { WatchCallOptions } from './create-call-track-client';
import { useCallTrackClient } from './use-call-track-client';
import { useCallTrackState } from './use-call-track-state';

/**
 * One call's latest state, kept after it ends (so a detail view can show the outcome). Watches
 * the call while mounted, stops when unmounted. Undefined until the call is known, and again
 * when it is no longer known: after a reset (missed events) the reloaded active calls no longer
 * list it and it could not be read again through the client's `api` (never shown as active when
 * it may have ended; a snapshot cut at its limit proves nothing, and leaves it as it was).
 * Re-renders only when this call changes, not on the events of other calls.
 *
 * A client that sees every tenant (an `allTenants` principal, a super-admin console) may hold two
 * tenants' calls with the same id: pass the call's tenant, `useCall(callId, { tenantId })`.
 */
export function useCall(callId: string, options?: WatchCallOptions): CallSnapshot | undefined {
  const client = useCallTrackClient();
  const tenantId = options?.tenantId;
  useEffect(
    () => client.watchCall(callId, tenantId === undefined ? undefined : { tenantId }),
    [client, callId, tenantId],
  );
  const selectCall = useCallback(
    (state: CallTrackState) =>
      tenantId === undefined
        ? (state.watchedCalls.get(callId) ?? activeCallsIndex(state.activeCalls).get(callId))
        : (state.watchedCallsByTenant.get(tenantId)?.get(callId) ??
          activeCallsIndex(state.activeCalls).get(callKey(tenantId, callId))),
    [callId, tenantId],
  );
  return useCallTrackState(selectCall);
}

/**
 * The active calls by id and by `callKey` (tenant and id; the NUL in it is in no call id), built
 * once per list: N rows looking up their call cost O(N), not N².
 */
const indexes = new WeakMap<readonly CallSnapshot[], Map<string, CallSnapshot>>();

function activeCallsIndex(calls: readonly CallSnapshot[]): Map<string, CallSnapshot> {
  let index = indexes.get(calls);
  if (index === undefined) {
    index = new Map();
    for (const call of calls) {
      if (!index.has(call.callId)) index.set(call.callId, call);
      index.set(callKey(call.tenantId, call.callId), call);
    }
    indexes.set(calls, index);
  }
  return index;
}

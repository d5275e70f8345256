'use client';

import { toError } from '@calltrack/core/internal';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { PlaceCallInput, PlacedCallResult } from './create-call-track-api';
import { useCallTrackApi } from './use-call-track-api';

/** What a click-to-call asks for; the request id is made per call. */
export type CallControlPlaceInput = Omit<PlaceCallInput, 'requestId'>;

/** Hang-ups in flight: call id → the tenants they named (`''` for none; no tenant id is empty). */
type Terminating = ReadonlyMap<string, ReadonlySet<string>>;

const noTenant = '';

/** What {@link useCallControl} returns. */
export interface UseCallControlResult {
  /**
   * Places a call (`POST /calls`) with a new request id, so a repeat of this one request on the
   * network is a no-op on the server. Resolves with `{ provider, callId, reference }` once the
   * provider accepted it; the call itself shows up through the events that follow. Rejects with a
   * `CallTrackApiError` (also set as `error`).
   */
  placeCall(input: CallControlPlaceInput): Promise<PlacedCallResult>;
  /**
   * Ends a call (`POST /calls/:callId/terminate`). Resolves once the provider was asked (or the
   * call had already ended); the `call.ended` event follows. Rejects with a `CallTrackApiError`
   * (also set as `error`). A console of every tenant (a principal with `allTenants`) names the
   * call's tenant: two tenants' calls may share an id.
   */
  terminateCall(callId: string, options?: { tenantId?: string }): Promise<void>;
  /** What is in flight: a placement, and the calls being ended. */
  pending: {
    placing: boolean;
    /**
     * True while a `terminateCall` of this call is in flight. A console of every tenant names the
     * call's tenant, as for `terminateCall`: another tenant's call of that id is not being ended.
     * Without a tenant, any hang-up of that call id counts; a hang-up that named no tenant counts
     * for the call of that id in every tenant (the tracker looks it up by id). A new function
     * whenever what is in flight changes.
     */
    isTerminating(callId: string, options?: { tenantId?: string }): boolean;
  };
  /** The last failure of `placeCall` or `terminateCall`, until `reset()` or the next success. */
  error: Error | undefined;
  /** Clears `error`. */
  reset(): void;
}

/**
 * Click-to-call and hang-up over the tracker's HTTP API (the client needs `api`). `placeCall`,
 * `terminateCall` and `reset` keep their identity across renders; `pending` and `error` belong to
 * this component.
 *
 * @example
 * const { placeCall, terminateCall, pending, error } = useCallControl();
 * <button disabled={pending.placing} onClick={() => placeCall({ provider: 'twilio', to }).catch(() => {})}>Call</button>
 * <button disabled={pending.isTerminating(callId)} onClick={() => terminateCall(callId).catch(() => {})}>Hang up</button>
 */
export function useCallControl(): UseCallControlResult {
  const api = useCallTrackApi('useCallControl');
  const [placingCount, setPlacingCount] = useState(0);
  const [terminating, setTerminating] = useState<Terminating>(() => new Map());
  const [error, setError] = useState<Error | undefined>(undefined);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  /** Sets state only while mounted: an answer may come back after the component left. */
  const ifMounted = useCallback((update: () => void) => {
    if (mounted.current) update();
  }, []);

  const placeCall = useCallback(
    async (input: CallControlPlaceInput): Promise<PlacedCallResult> => {
      setPlacingCount((count) => count + 1);
      try {
        const placed = await api.placeCall(input);
        ifMounted(() => setError(undefined));
        return placed;
      } catch (failure) {
        ifMounted(() => setError(toError(failure)));
        throw failure;
      } finally {
        ifMounted(() => setPlacingCount((count) => count - 1));
      }
    },
    [api, ifMounted],
  );

  /**
   * Hang-ups in flight by call id, then by the tenant they named (`''` for none): a call stays
   * terminating until its last one is answered.
   */
  const inFlight = useRef(new Map<string, Map<string, number>>());
  const publishTerminating = useCallback(
    () =>
      ifMounted(() =>
        setTerminating(
          new Map(
            [...inFlight.current].map(([callId, tenants]) => [callId, new Set(tenants.keys())]),
          ),
        ),
      ),
    [ifMounted],
  );

  const terminateCall = useCallback(
    async (callId: string, options?: { tenantId?: string }): Promise<void> => {
      const tenant = options?.tenantId ?? noTenant;
      let tenants = inFlight.current.get(callId);
      if (tenants === undefined) {
        tenants = new Map();
        inFlight.current.set(callId, tenants);
      }
      tenants.set(tenant, (tenants.get(tenant) ?? 0) + 1);
      publishTerminating();
      try {
        await api.terminateCall(
          callId,
          options?.tenantId === undefined ? undefined : { tenantId: options.tenantId },
        );
        ifMounted(() => setError(undefined));
      } catch (failure) {
        ifMounted(() => setError(toError(failure)));
        throw failure;
      } finally {
        const left = (tenants.get(tenant) ?? 1) - 1;
        if (left > 0) tenants.set(tenant, left);
        else tenants.delete(tenant);
        if (tenants.size === 0) inFlight.current.delete(callId);
        publishTerminating();
      }
    },
    [api, ifMounted, publishTerminating],
  );

  const reset = useCallback(() => setError(undefined), []);
  const isTerminating = useCallback(
    (callId: string, options?: { tenantId?: string }): boolean => {
      const tenants = terminating.get(callId);
      if (tenants === undefined) return false;
      const tenantId = options?.tenantId;
      return tenantId === undefined || tenants.has(tenantId) || tenants.has(noTenant);
    },
    [terminating],
  );
  const pending = useMemo(
    () => ({ placing: placingCount > 0, isTerminating }),
    [placingCount, isTerminating],
  );
  return { placeCall, terminateCall, pending, error, reset };
}

import type { ActiveCallsReader, CallSnapshot, Principal } from '@calltrack/core';
import { readActiveCallsSnapshot } from '@calltrack/core/internal';
import type { ActiveCallsInput } from './active-calls-input';

/** What the `activeCallsSnapshot` query answers. */
export interface ActiveCallsSnapshot {
  /** The caller's active calls (every tenant's for `allTenants`), newest first, at most `limit`. */
  calls: CallSnapshot[];
  /**
   * True when `calls` holds every active call the caller asked for: a call it does not list is
   * not active. False when the limit left active calls out (an all-tenants `branchId` filters
   * after the limit, so a cut list may be short, even empty): a call it does not list may be
   * active.
   */
  complete: boolean;
}

/** `limit` when the input has none: the tracker's default. */
const defaultLimit = 1000;

/** Reads the caller's active calls for `activeCalls` and `activeCallsSnapshot`. */
export function readActiveCalls(
  tracker: Pick<ActiveCallsReader, 'listActiveCalls' | 'listActiveCallsAcrossTenants'>,
  principal: Principal,
  input: ActiveCallsInput,
): Promise<ActiveCallsSnapshot> {
  return readActiveCallsSnapshot(
    tracker,
    principal.allTenants === true ? undefined : principal.tenantId,
    { limit: input?.limit ?? defaultLimit, branchId: input?.branchId },
  );
}

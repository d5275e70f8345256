import type { ActiveCallsReader, CallSnapshot, Principal } from '@calltrack/core';
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
/** The most calls a tracker lists at once (its `limit` is 1–10,000). */
const trackerMaxLimit = 10_000;

/**
 * Reads the caller's active calls for `activeCalls` and `activeCallsSnapshot`. One call more
 * than the limit is asked for, so a list the limit cut is told from one that merely fills it; at
 * the tracker's largest limit that cannot be told, and a full list counts as cut.
 */
export async function readActiveCalls(
  tracker: Pick<ActiveCallsReader, 'listActiveCalls' | 'listActiveCallsAcrossTenants'>,
  principal: Principal,
  input: ActiveCallsInput,
): Promise<ActiveCallsSnapshot> {
  const limit = input?.limit ?? defaultLimit;
  const asked = Math.min(limit + 1, trackerMaxLimit);
  const branchId = input?.branchId;
  let calls =
    principal.allTenants === true
      ? await tracker.listActiveCallsAcrossTenants({ limit: asked })
      : await tracker.listActiveCalls(principal.tenantId, {
          limit: asked,
          ...(branchId === undefined ? {} : { branchId }),
        });
  const complete = calls.length < asked;
  if (calls.length > limit) calls = calls.slice(0, limit);
  if (principal.allTenants === true && branchId !== undefined) {
    calls = calls.filter((call) => call.branchId === branchId);
  }
  return { calls, complete };
}

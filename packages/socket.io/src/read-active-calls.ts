import type { ActiveCallsReader, CallSnapshot } from '@calltrack/core';

/** The most calls an `active_calls` snapshot lists (the tracker's default `limit`). */
export const activeCallsLimit = 1000;

/** The calls of one `active_calls`, and whether they are every active call of the view. */
export interface ActiveCallsRead {
  calls: CallSnapshot[];
  /** False when the limit left active calls out. */
  complete: boolean;
}

/**
 * Reads the active calls of a tenant (or of every tenant, `tenantId` undefined): at most
 * {@link activeCallsLimit}, newest first. One call more is asked for, so a list the limit cut is
 * told from one that merely fills it.
 */
export async function readActiveCalls(
  tracker: ActiveCallsReader,
  tenantId: string | undefined,
): Promise<ActiveCallsRead> {
  const limit = activeCallsLimit + 1;
  const calls =
    tenantId === undefined
      ? await tracker.listActiveCallsAcrossTenants({ limit })
      : await tracker.listActiveCalls(tenantId, { limit });
  if (calls.length <= activeCallsLimit) return { calls, complete: true };
  return { calls: calls.slice(0, activeCallsLimit), complete: false };
}

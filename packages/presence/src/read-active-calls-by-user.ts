import type { ActiveCallsReader } from '@calltrack/core';

/**
 * The tenant's active calls by user: each call counts for its `agentId` and its `userId` (once
 * when they are the same). What makes an agent busy.
 */
export async function readActiveCallsByUser(
  calls: Pick<ActiveCallsReader, 'listActiveCalls'>,
  tenantId: string,
): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>();
  for (const call of await calls.listActiveCalls(tenantId, { limit: 10_000 })) {
    for (const id of new Set([call.agentId, call.userId])) {
      if (id === undefined) continue;
      const list = byUser.get(id);
      if (list) list.push(call.callId);
      else byUser.set(id, [call.callId]);
    }
  }
  return byUser;
}

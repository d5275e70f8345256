import type { WebhookTenant } from '@calltrack/core';
import { demoLines, findDemoLine } from '@calltrack/simulator';
import type { CallTracker } from '@calltrack/tracker';

/**
 * The demo's tenant lookup: the business number on either side of the call (the line a customer
 * dialled, or the line an outbound call was placed from) names the tenant and its branch. An
 * unknown number gives null, which the webhook handlers answer with 422.
 *
 * A real app looks the number up in its own database (or puts the tenant in the webhook URL).
 */
export function resolveDemoTenant(...numbers: (string | undefined)[]): WebhookTenant | null {
  for (const number of numbers) {
    const line = findDemoLine(number);
    if (line === undefined) continue;
    return line.branchId === undefined
      ? { tenantId: line.tenantId }
      : { tenantId: line.tenantId, branchId: line.branchId };
  }
  return null;
}

const demoTenants = [...new Set(demoLines.map((line) => line.tenantId))];

/**
 * For callbacks that carry no numbers (Twilio's recording and answering-machine callbacks): the
 * call's tenant is the one that already tracks a call with this id. The tracker's store is shared
 * through Redis, so this works whichever instance saw the call start.
 */
export async function resolveKnownCallTenant(
  tracker: Pick<CallTracker, 'getCall'>,
  callId: string | undefined,
): Promise<WebhookTenant | null> {
  if (callId === undefined) return null;
  for (const tenantId of demoTenants) {
    const call = await tracker.getCall(tenantId, callId);
    if (call === undefined) continue;
    return call.branchId === undefined ? { tenantId } : { tenantId, branchId: call.branchId };
  }
  return null;
}

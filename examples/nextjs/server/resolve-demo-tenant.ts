import type { WebhookTenant } from '@calltrack/core';
import { demoLines, findDemoLine } from '@calltrack/simulator';
import type { CallTracker } from '@calltrack/tracker';

// The tenants of the simulator's demo lines: just `demo`.
const demoTenants = [...new Set(demoLines.map((line) => line.tenantId))];

/**
 * Which tenant a provider webhook belongs to, by the tenant's own phone number: the simulator's
 * demo lines all belong to tenant `demo`. A real app looks the number up in its own table
 * (`tenantsByNumber.get(number)`). Returns null (the handler answers 422) for other numbers.
 */
export function resolveDemoTenant(...numbers: Array<string | undefined>): WebhookTenant | null {
  for (const number of numbers) {
    const line = findDemoLine(number);
    if (line) {
      return line.branchId
        ? { tenantId: line.tenantId, branchId: line.branchId }
        : { tenantId: line.tenantId };
    }
  }
  return null;
}

/**
 * A tenant named in the callback URL (`?tenant=demo`), the way Twilio's docs suggest for
 * recording and answering-machine callbacks, which carry no numbers. Twilio signs the query, so
 * only the auth token's holder can choose it; it is still checked against the known tenants.
 */
export function tenantFromUrl(url: URL): WebhookTenant | null {
  const tenantId = url.searchParams.get('tenant');
  return tenantId && demoTenants.includes(tenantId) ? { tenantId } : null;
}

/**
 * The tenant that already owns the call: for a Twilio recording or AMD callback (no numbers)
 * whose URL names no tenant. Only runs after the signature checked out.
 */
export async function tenantOfKnownCall(
  tracker: CallTracker,
  callId: string,
): Promise<WebhookTenant | null> {
  for (const tenantId of demoTenants) {
    const call = await tracker.getCall(tenantId, callId);
    if (call) return call.branchId ? { tenantId, branchId: call.branchId } : { tenantId };
  }
  return null;
}

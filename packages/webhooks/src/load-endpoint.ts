import { InvalidArgumentError, NotFoundError, tenantIdSchema } from '@calltrack/core';
import type { StoredEndpoint } from './webhook-endpoint';
import type { WebhookStore } from './webhook-store';

/** Refuses a tenant id the dispatcher's methods cannot be scoped by (a 400). */
export function checkTenantId(tenantId: string): void {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({ message: 'Invalid tenant id.' });
  }
}

/**
 * The tenant's endpoint, or a `NotFoundError` (404); an id that is not an endpoint id's shape is
 * not looked up.
 */
export async function loadEndpoint(
  store: Pick<WebhookStore, 'getEndpoint'>,
  tenantId: string,
  endpointId: string,
): Promise<StoredEndpoint> {
  checkTenantId(tenantId);
  const endpoint =
    typeof endpointId === 'string' && /^ep_[A-Za-z0-9_-]{1,64}$/.test(endpointId)
      ? await store.getEndpoint(tenantId, endpointId)
      : undefined;
  if (!endpoint) throw new NotFoundError({ message: 'No such webhook endpoint.' });
  return endpoint;
}

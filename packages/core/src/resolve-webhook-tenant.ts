import { checkResolvedTenant } from './check-resolved-tenant';
import { UnknownTenantError } from './errors/unknown-tenant-error';
import type { WebhookTenant, WebhookTenantResolver } from './webhook-tenant';

/**
 * Runs an app's `resolveTenant` for a webhook: nothing (`null`/`undefined`) throws
 * `UnknownTenantError` (422) with `unknownMessage`; a result that is not a valid tenant throws a
 * 500 `invalid_tenant` (a bug in the app, which the provider's retry gets past once it is fixed).
 * Returns the checked tenant.
 */
export async function resolveWebhookTenant<Context>(
  resolveTenant: WebhookTenantResolver<Context>,
  context: Context,
  unknownMessage: string,
): Promise<WebhookTenant> {
  const resolved = await resolveTenant(context);
  if (resolved == null) throw new UnknownTenantError({ message: unknownMessage });
  return checkResolvedTenant(resolved);
}

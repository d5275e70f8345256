import { CallTrackError } from './errors/calltrack-error';
import { checkWebhookTenant, type WebhookTenant } from './webhook-tenant';

/**
 * Validates what an app's `resolveTenant` returned. An invalid tenant is a bug in the app, not in
 * the webhook, so it becomes a 500 `invalid_tenant` (the provider retries once the app is fixed)
 * rather than the 400 that {@link checkWebhookTenant} means for a caller's argument.
 */
export function checkResolvedTenant(value: unknown): WebhookTenant {
  try {
    return checkWebhookTenant(value);
  } catch (error) {
    throw new CallTrackError({
      message: 'resolveTenant returned an invalid tenant.',
      code: 'invalid_tenant',
      status: 500,
      cause: error,
    });
  }
}

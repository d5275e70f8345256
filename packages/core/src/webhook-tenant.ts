import { InvalidArgumentError } from './errors/invalid-argument-error';
import { isTenantId, type tenantIdSchema } from './tenant-id-schema';

/**
 * Whose call a provider webhook belongs to. `tenantId` is required (up to 128 characters, no
 * whitespace, control characters or braces); the rest is copied onto every event when given.
 */
export interface WebhookTenant {
  /** The tenant (workspace / company) id; see {@link tenantIdSchema}. */
  tenantId: string;
  /** The tenant's branch (office, location), 1-256 characters. */
  branchId?: string;
  /** The agent handling the call, 1-256 characters. */
  agentId?: string;
  /** The user the call belongs to, 1-256 characters. */
  userId?: string;
}

/**
 * A webhook handler's `resolveTenant`: maps what the webhook says (numbers, URL, account…) to its
 * tenant, sync or async; `null`/`undefined` answers 422.
 */
export type WebhookTenantResolver<Context> = (
  context: Context,
) => WebhookTenant | null | undefined | Promise<WebhookTenant | null | undefined>;

/**
 * Validates a tenant given by the caller and returns a copy holding only the
 * {@link WebhookTenant} fields. Throws `InvalidArgumentError` naming the bad field.
 */
export function checkWebhookTenant(value: unknown): WebhookTenant {
  if (value == null || typeof value !== 'object') {
    throw new InvalidArgumentError({ message: 'A tenant ({ tenantId }) is required.' });
  }
  const candidate = value as Record<string, unknown>;
  if (!isTenantId(candidate.tenantId)) {
    throw new InvalidArgumentError({
      message:
        'tenant.tenantId must be 1-128 characters without whitespace, control characters or braces.',
    });
  }
  const checked: WebhookTenant = { tenantId: candidate.tenantId as string };
  for (const name of ['branchId', 'agentId', 'userId'] as const) {
    const field = candidate[name];
    if (field === undefined) continue;
    if (typeof field !== 'string' || field === '' || field.length > 256) {
      throw new InvalidArgumentError({
        message: `tenant.${name} must be a string of 1-256 characters.`,
      });
    }
    checked[name] = field;
  }
  return checked;
}

import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';

/**
 * Whose call a CallerDesk webhook belongs to. `tenantId` is required (up to 128 characters, no
 * whitespace, control characters or braces); the rest is copied onto every event when given.
 */
export interface CallerDeskTenant {
  tenantId: string;
  branchId?: string;
  agentId?: string;
  userId?: string;
}

/**
 * Validates a tenant given by the caller; throws `InvalidArgumentError` naming the bad field.
 * @internal
 */
export function checkCallerDeskTenant(tenant: unknown): CallerDeskTenant {
  if (tenant == null || typeof tenant !== 'object') {
    throw new InvalidArgumentError({ message: 'A tenant ({ tenantId }) is required.' });
  }
  const candidate = tenant as Record<string, unknown>;
  if (!tenantIdSchema.safeParse(candidate.tenantId).success) {
    throw new InvalidArgumentError({
      message:
        'tenant.tenantId must be 1-128 characters without whitespace, control characters or braces.',
    });
  }
  const checked: CallerDeskTenant = { tenantId: candidate.tenantId as string };
  for (const name of ['branchId', 'agentId', 'userId'] as const) {
    const value = candidate[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '' || value.length > 256) {
      throw new InvalidArgumentError({
        message: `tenant.${name} must be a string of 1-256 characters.`,
      });
    }
    checked[name] = value;
  }
  return checked;
}

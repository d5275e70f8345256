import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';

/**
 * Checks of the arguments the tracker's queries take from their callers (often straight from a
 * request): each throws `InvalidArgumentError`, answered 400 by the read API.
 */

/** A tenant id as core's `tenantIdSchema` defines it. */
export function checkTenantId(tenantId: string): void {
  if (!tenantIdSchema.safeParse(tenantId).success) {
    throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
  }
}

/** An optional branch id: absent, or a non-empty string. */
export function checkBranchId(branchId: string | undefined): void {
  if (branchId !== undefined && (typeof branchId !== 'string' || branchId === '')) {
    throw new InvalidArgumentError({ message: 'branchId must be a non-empty string.' });
  }
}

/** An optional user id: absent, or a non-empty string. */
export function checkUserId(userId: string | undefined): void {
  if (userId !== undefined && (typeof userId !== 'string' || userId === '')) {
    throw new InvalidArgumentError({ message: 'userId must be a non-empty string.' });
  }
}

/** An optional `limit`: an integer from 1 to `max`; `fallback` when absent. */
export function checkLimit(
  limit: number | undefined,
  { fallback, max }: { fallback: number; max: number },
): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidArgumentError({ message: `limit must be an integer from 1 to ${max}.` });
  }
  return limit;
}

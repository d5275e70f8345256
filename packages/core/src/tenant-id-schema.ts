import { z } from 'zod';

/** What a tenant id may be made of (see {@link tenantIdSchema}). */
export const tenantIdPattern = /^[^\s{}\p{Cc}\p{Cs}]+$/u;

/**
 * A tenant (workspace / company) id. Up to 128 characters, no whitespace, control characters or
 * braces: tenant ids become part of Redis keys inside a `{tenant}` hash tag. No lone surrogates
 * either: they have no UTF-8 form, so two different ids would become the same key.
 */
export const tenantIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(tenantIdPattern, 'must not contain whitespace, control characters, "{" or "}"');

/**
 * What {@link tenantIdSchema} accepts, without zod (a check made for every webhook, twice).
 * @internal
 */
export function isTenantId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= 128 &&
    tenantIdPattern.test(value)
  );
}

import { checkJsonLimits, type JsonLimits } from './check-json-limits';
import { InvalidPayloadError } from './errors/invalid-payload-error';

/**
 * Refuses a free-form field of a webhook payload (Retell `call.metadata`, a CallerDesk JSON field…)
 * that is nested deeper or written longer than `limits`: throws `InvalidPayloadError` (400) naming
 * the field, e.g. `Invalid Retell webhook: "call.metadata" is nested deeper than 16 levels.`
 * Iterative, so a value nested 100,000 levels deep is reported, never a stack overflow.
 */
export function checkPayloadJsonLimits(
  value: unknown,
  limits: JsonLimits,
  where: { payload: string; field: string },
): void {
  const violation = checkJsonLimits(value, limits);
  if (violation === undefined) return;
  throw new InvalidPayloadError({
    message: `Invalid ${where.payload}: "${where.field}" ${violation.message}.`,
  });
}

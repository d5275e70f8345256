import type { JsonLimits } from '@calltrack/core';
import { checkPayloadJsonLimits } from '@calltrack/core/internal';

/**
 * How deep any field of a Retell webhook may be nested. Retell's own objects are at most about
 * five levels deep (`transcript_object[].words[]`, `latency.*`, `call_cost.product_costs[]`), so
 * this leaves room for the app's `metadata` and custom analysis while keeping every event well
 * within core's 32 levels (`data.metadata`, and `raw` = the body).
 */
const maxDepth = 16;

/**
 * Fields whose content the app, not Retell, decides: besides the depth, each is bounded to 256 KiB
 * of JSON. Everything else (the transcript with word timings passes 256 KiB on long calls) is
 * bounded only by the body limit.
 */
const appSizedFields = new Set([
  'metadata',
  'retell_llm_dynamic_variables',
  'collected_dynamic_variables',
  'call_analysis',
  'custom_sip_headers',
]);

const appSized: JsonLimits = { maxDepth, maxLength: 256 * 1024 };
const bodySized: JsonLimits = { maxDepth, maxLength: Number.POSITIVE_INFINITY };

const payload = 'Retell webhook';

/**
 * Refuses a Retell webhook with a field nested deeper than 16 levels, or an app-sized field
 * (`metadata`, dynamic variables, `call_analysis`, `custom_sip_headers`) longer than 256 KiB as
 * JSON: `InvalidPayloadError` (400) naming the field, e.g. `"call.metadata"`.
 * @internal
 */
export function checkRetellPayloadLimits(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    const value = body[key];
    if ((key === 'call' || key === 'data') && isRecord(value)) {
      for (const field of Object.keys(value)) {
        checkPayloadJsonLimits(value[field], appSizedFields.has(field) ? appSized : bodySized, {
          payload,
          field: `${key}.${field}`,
        });
      }
    } else {
      checkPayloadJsonLimits(value, bodySized, { payload, field: key });
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

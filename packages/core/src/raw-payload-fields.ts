import type { JsonLimitViolation } from './check-json-limits';
import { sealRawPayload } from './seal-call-event';

/** Why a provider's payload is not attached as `raw`: see {@link rawPayloadFields}. */
export type RawOmittedReason = JsonLimitViolation['reason'];

/**
 * What the events of one webhook carry of the provider's payload when the app asked for it
 * (`includeRaw`): the payload as `raw`, or, when it cannot be kept, the reason as `rawOmitted`
 * (for `data.rawOmitted`).
 */
export type RawPayloadFields =
  | { raw: unknown; rawOmitted?: undefined }
  | { raw?: undefined; rawOmitted: RawOmittedReason };

/**
 * The payload to attach as `raw`, or why it is left out: `length` (over the 2 MiB of JSON that
 * `callEventLimits.raw` allows), `depth` (nested deeper than its 32 levels) or `unserializable`
 * (JSON cannot hold it). The copy of the payload is only for the app's records, so an event is
 * never refused for it: refusing a signed webhook with a 4xx would lose the event for good
 * (providers do not retry a 4xx), e.g. a Retell `call_ended` of a call past an hour, whose word
 * timings pass 2 MiB. Providers put `rawOmitted` in every event's `data`.
 *
 * `raw` is a frozen copy of the payload as JSON carries it, made once: the events of one webhook
 * that carry it are sealed without copying or checking it again (`sealCallEvent` copies any
 * other `raw` per event).
 */
export function rawPayloadFields(payload: unknown): RawPayloadFields {
  const sealed = sealRawPayload(payload);
  return sealed.violation === undefined
    ? { raw: sealed.value }
    : { rawOmitted: sealed.violation.reason };
}

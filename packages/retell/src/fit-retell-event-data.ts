import {
  type CallEventData,
  callEventLimits,
  checkJsonLimits,
  type JsonLimits,
} from '@calltrack/core';

/**
 * What a Retell event's `data` may hold: core's limits on `data`, less the 128 KiB the tracker
 * keeps for the call snapshot it adds (`data.call`; decision 17), so that the bus and the tracker
 * alike take the event.
 */
const retellEventDataLimits: JsonLimits = {
  maxDepth: callEventLimits.data.maxDepth,
  maxLength: callEventLimits.data.maxLength - 128 * 1024,
};

/**
 * The parts of `data` that grow with the call or come from the app, in the order they are left
 * out: the transcript first (it alone passes the limit on long calls, and stays at Retell), then
 * the analysis and the metadata, then strings only the body limit bounds.
 */
const omissionOrder = [
  'transcript',
  'analysis',
  'metadata',
  'transferOption',
  'publicLogUrl',
  'recordingMultiChannelUrl',
  'recordingUrl',
  'transferDestination',
  'disconnectionReason',
  'providerStatus',
  'callType',
] as const;

/**
 * `data` as it is when it fits {@link retellEventDataLimits}; otherwise without its free-form
 * parts, left out in {@link omissionOrder} until it fits, and their names in `omittedFields`. A
 * Retell body may hold 2 MiB and an event's `data` 1 MiB: refusing the event would answer 400,
 * and a `call_ended` Retell gave up on would leave the call to the reaper, marked failed.
 * @internal
 */
export function fitRetellEventData(data: CallEventData): CallEventData {
  if (checkJsonLimits(data, retellEventDataLimits) === undefined) return data;
  const fitted: Record<string, unknown> = { ...data };
  const omittedFields: string[] = [];
  for (const field of omissionOrder) {
    if (fitted[field] === undefined) continue;
    delete fitted[field];
    omittedFields.push(field);
    fitted.omittedFields = omittedFields;
    if (checkJsonLimits(fitted, retellEventDataLimits) === undefined) break;
  }
  return fitted as CallEventData;
}

import {
  type CallDirection,
  type CallEvent,
  type CallEventData,
  type RawOmittedReason,
  rawPayloadFields,
  sealCallEvent,
} from '@calltrack/core';
import { checkWebhookTenant, toReceivedAt } from '@calltrack/core/internal';
import type { z } from 'zod';
import { mapTwilioCallStatus } from './map-twilio-call-status';
import { mapTwilioDirection } from './map-twilio-direction';
import { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';
import { parseTwilioTimestamp } from './parse-twilio-timestamp';
import type { ParseTwilioWebhookOptions } from './parse-twilio-webhook';
import type { TwilioWebhookPayload } from './parse-twilio-webhook-payload';
import type { twilioAmdStatusCallbackSchema } from './twilio-amd-status-callback-schema';
import type { twilioRecordingStatusCallbackSchema } from './twilio-recording-status-callback-schema';
import type { twilioStatusCallbackSchema } from './twilio-status-callback-schema';
import type { TwilioTenant } from './twilio-tenant';

const provider = 'twilio';

/**
 * The mapping half of `parseTwilioWebhook`, for a payload validated with
 * `parseTwilioWebhookPayload`: the events of one webhook (see `parseTwilioWebhook` for which).
 * Throws `InvalidArgumentError` for a bad `tenant` or `receivedAt`.
 * @internal
 */
export function buildTwilioEvents(
  payload: TwilioWebhookPayload,
  options: Omit<ParseTwilioWebhookOptions, 'params' | 'kind'>,
): CallEvent[] {
  // A payload over core's raw limits is left out (`data.rawOmitted`), never the event.
  const { raw, rawOmitted } =
    options.includeRaw === true ? rawPayloadFields({ ...payload.params }) : {};
  const { callback } = payload;
  const base: BaseFields = {
    tenant: checkWebhookTenant(options.tenant),
    receivedAt: toReceivedAt(options.receivedAt),
    raw: raw as Record<string, string> | undefined,
    rawOmitted,
    reference: checkedReference(options.reference),
    // The same on every event of the webhook: worked out once.
    direction: mapTwilioDirection(text(callback.Direction)),
    from: normalizeTwilioPhoneNumber(text(callback.From) ?? text(callback.Caller)),
    to: normalizeTwilioPhoneNumber(text(callback.To) ?? text(callback.Called)),
  };
  switch (payload.kind) {
    case 'recording':
      return [recordingEvent(payload.callback, base)];
    case 'amd':
      return [amdEvent(payload.callback, base)];
    default:
      return statusEvents(payload.callback, base);
  }
}

interface BaseFields {
  tenant: TwilioTenant;
  receivedAt: string;
  raw: Record<string, string> | undefined;
  rawOmitted: RawOmittedReason | undefined;
  reference: string | undefined;
  direction: CallDirection | undefined;
  from: string | undefined;
  to: string | undefined;
}

function statusEvents(
  callback: z.infer<typeof twilioStatusCallbackSchema>,
  base: BaseFields,
): CallEvent[] {
  const mapping = mapTwilioCallStatus(callback.CallStatus)!;
  const providerStatus = callback.CallStatus.trim().toLowerCase();
  const answeredBy = nonEmpty(callback.AnsweredBy);
  const recordingUrl = nonEmpty(callback.RecordingUrl);
  const recordingDurationMs = secondsToMilliseconds(callback.RecordingDuration);

  const data: CallEventData = { providerStatus };
  assign(data, 'accountSid', callback.AccountSid);
  assign(data, 'parentCallSid', callback.ParentCallSid);
  assign(data, 'durationMs', secondsToMilliseconds(callback.CallDuration));
  assign(data, 'sipResponseCode', nonNegativeInteger(callback.SipResponseCode));
  assign(data, 'answeredBy', answeredBy);
  assign(data, 'recordingUrl', recordingUrl);
  assign(data, 'recordingDurationMs', recordingDurationMs);
  const statusEvent = newEvent(
    callback,
    base,
    `${callback.CallSid}:${providerStatus}`,
    mapping.type,
    data,
    { status: mapping.status, sequence: nonNegativeInteger(callback.SequenceNumber) },
  );
  const events = [statusEvent];

  if (answeredBy !== undefined) {
    const amdData: CallEventData = { answeredBy };
    assign(amdData, 'accountSid', callback.AccountSid);
    events.push(
      newEvent(callback, base, `${callback.CallSid}:amd`, 'call.machine_detection', amdData),
    );
  }
  const recordingSid = nonEmpty(callback.RecordingSid);
  if (recordingSid !== undefined && /^[A-Za-z0-9_-]{1,64}$/.test(recordingSid)) {
    const recordingData: CallEventData = { recordingSid, recordingStatus: 'completed' };
    assign(recordingData, 'accountSid', callback.AccountSid);
    assign(recordingData, 'recordingUrl', recordingUrl);
    assign(recordingData, 'recordingDurationMs', recordingDurationMs);
    events.push(
      newEvent(
        callback,
        base,
        `${callback.CallSid}:recording:${recordingSid}`,
        'call.recording',
        recordingData,
      ),
    );
  }
  return events;
}

function recordingEvent(
  callback: z.infer<typeof twilioRecordingStatusCallbackSchema>,
  base: BaseFields,
): CallEvent {
  const recordingStatus = nonEmpty(callback.RecordingStatus)?.toLowerCase() ?? 'completed';
  const suffix = recordingStatus === 'completed' ? '' : `:${idSafe(recordingStatus)}`;
  const data: CallEventData = { recordingSid: callback.RecordingSid, recordingStatus };
  assign(data, 'accountSid', callback.AccountSid);
  assign(data, 'recordingUrl', nonEmpty(callback.RecordingUrl));
  assign(data, 'recordingDurationMs', secondsToMilliseconds(callback.RecordingDuration));
  assign(data, 'recordingChannels', nonNegativeInteger(callback.RecordingChannels));
  assign(data, 'recordingSource', nonEmpty(callback.RecordingSource));
  assign(data, 'recordingTrack', nonEmpty(callback.RecordingTrack));
  assign(data, 'recordingStartedAt', parseTwilioTimestamp(callback.RecordingStartTime));
  assign(data, 'conferenceSid', nonEmpty(callback.ConferenceSid));
  assign(data, 'errorCode', nonEmpty(callback.ErrorCode));
  const id = `${callback.CallSid}:recording:${callback.RecordingSid}${suffix}`;
  return newEvent(callback, base, id, 'call.recording', data);
}

function amdEvent(
  callback: z.infer<typeof twilioAmdStatusCallbackSchema>,
  base: BaseFields,
): CallEvent {
  const data: CallEventData = { answeredBy: callback.AnsweredBy.trim() };
  assign(data, 'accountSid', callback.AccountSid);
  assign(data, 'machineDetectionDurationMs', nonNegativeInteger(callback.MachineDetectionDuration));
  return newEvent(callback, base, `${callback.CallSid}:amd`, 'call.machine_detection', data);
}

/**
 * An event with the fields every event of one webhook shares, sealed (`sealCallEvent`: validated
 * once and frozen, so the tracker and the bus take it as it is). Every field is valid by
 * construction (checked tenant, SIDs of at most 64 safe characters, ISO dates from
 * `toISOString`, non-negative integers, non-empty strings of at most 256 characters); the tests
 * run property-generated webhooks through it.
 */
function newEvent(
  callback: Readonly<Record<string, unknown>> & { CallSid: string },
  base: BaseFields,
  idSuffix: string,
  type: CallEvent['type'],
  data: CallEventData,
  progress: Pick<CallEvent, 'status' | 'sequence'> = {},
): CallEvent {
  const event: CallEvent = {
    id: `${provider}:${idSuffix}`,
    type,
    tenantId: base.tenant.tenantId,
    provider,
    callId: callback.CallSid,
    occurredAt: parseTwilioTimestamp(text(callback.Timestamp)) ?? base.receivedAt,
    receivedAt: base.receivedAt,
    data:
      base.reference === undefined && base.rawOmitted === undefined
        ? data
        : {
            ...data,
            ...(base.reference === undefined ? {} : { reference: base.reference }),
            ...(base.rawOmitted === undefined ? {} : { rawOmitted: base.rawOmitted }),
          },
  };
  assign(event, 'branchId', base.tenant.branchId);
  assign(event, 'agentId', base.tenant.agentId);
  assign(event, 'userId', base.tenant.userId);
  assign(event, 'direction', base.direction);
  assign(event, 'from', base.from);
  assign(event, 'to', base.to);
  assign(event, 'status', progress.status);
  assign(event, 'sequence', progress.sequence);
  assign(event, 'raw', base.raw);
  return sealCallEvent(event);
}

/** A reference fit for `data.reference`: 1-128 characters, no whitespace or control characters. */
function checkedReference(value: unknown): string | undefined {
  return typeof value === 'string' && /^[^\s\p{Cc}]{1,128}$/u.test(value) ? value : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function nonNegativeInteger(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,15}$/.test(trimmed) ? Number(trimmed) : undefined;
}

function secondsToMilliseconds(value: string | undefined): number | undefined {
  const seconds = nonNegativeInteger(value);
  return seconds === undefined || seconds > 1e12 ? undefined : seconds * 1000;
}

function idSafe(value: string): string {
  return value.replace(/[^a-z0-9_-]/gi, '_').slice(0, 32);
}

/** Sets `target[key]` unless `value` is undefined (keeps absent fields absent). */
function assign<Target extends object, Key extends keyof Target>(
  target: Target,
  key: Key,
  value: Target[Key] | undefined,
): void {
  if (value !== undefined) target[key] = value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

import {
  type CallEvent,
  type CallEventData,
  checkWebhookTenant,
  InvalidArgumentError,
  InvalidPayloadError,
  toReceivedAt,
} from '@calltrack/core';
import type { z } from 'zod';
import { mapTwilioCallStatus } from './map-twilio-call-status';
import { mapTwilioDirection } from './map-twilio-direction';
import { normalizeTwilioPhoneNumber } from './normalize-twilio-phone-number';
import { parseTwilioTimestamp } from './parse-twilio-timestamp';
import { twilioAmdStatusCallbackSchema } from './twilio-amd-status-callback-schema';
import type { TwilioParams } from './twilio-params';
import { twilioRecordingStatusCallbackSchema } from './twilio-recording-status-callback-schema';
import { twilioStatusCallbackSchema } from './twilio-status-callback-schema';
import type { TwilioTenant } from './twilio-tenant';

/**
 * Which Twilio callback a request is: a call `status` callback (or voice request), a `recording`
 * status callback, or an asynchronous answering-machine-detection (`amd`) callback.
 */
export type TwilioWebhookKind = 'status' | 'recording' | 'amd';

/** Options of {@link parseTwilioWebhook}. */
export interface ParseTwilioWebhookOptions {
  /**
   * The webhook's parameters: the form body as `URLSearchParams` or a record. For a repeated
   * name the first value is used.
   */
  params: TwilioParams;
  /** The tenant the call belongs to, copied onto every event. */
  tenant: TwilioTenant;
  /** When calltrack received the webhook; defaults to now. Also `occurredAt` when Twilio sends no `Timestamp`. */
  receivedAt?: Date | string;
  /** Attach the original parameters as `raw` (they hold phone numbers: personal data). Default false. */
  includeRaw?: boolean;
  /**
   * Force the kind instead of detecting it. Detection: `RecordingStatus`, or a `RecordingSid`
   * without `CallStatus`, means `recording`; `MachineDetectionDuration`, or an `AnsweredBy` without
   * `CallStatus`, means `amd`; anything else is a `status` callback.
   */
  kind?: TwilioWebhookKind;
}

const provider = 'twilio';

/**
 * Turns one Twilio voice webhook into normalized `CallEvent`s (each one valid for core's
 * `parseCallEvent`):
 *
 * - a status callback gives `call.initiated` (`queued`/`initiated`), `call.ringing`,
 *   `call.answered` (`in-progress`) or `call.ended` (`completed | busy | no-answer | failed |
 *   canceled`, with `data.durationMs` from `CallDuration`), id `twilio:<CallSid>:<CallStatus>`;
 * - a recording status callback gives `call.recording` (`data.recordingUrl`,
 *   `data.recordingDurationMs`, `data.recordingStatus`), id
 *   `twilio:<CallSid>:recording:<RecordingSid>` (plus `:<RecordingStatus>` unless `completed`);
 * - an AMD callback gives `call.machine_detection` (`data.answeredBy`), id `twilio:<CallSid>:amd`.
 *
 * A status callback that also carries `AnsweredBy` or a recording adds the matching
 * `call.machine_detection` / `call.recording` event with the same id the dedicated callback would
 * produce, so whichever arrives first wins and the other is a duplicate. Ids depend only on the
 * payload, so a retried webhook yields the same ids.
 *
 * Throws `InvalidPayloadError` (400) naming the missing or invalid field, and
 * `InvalidArgumentError` for a bad `tenant` or `receivedAt`. Throws nothing else.
 */
export function parseTwilioWebhook(options: ParseTwilioWebhookOptions): CallEvent[] {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'parseTwilioWebhook needs an options object.' });
  }
  return readTwilioWebhook(options.params, options.kind)(options);
}

/**
 * The validating half of {@link parseTwilioWebhook}: checks the parameters now (throwing
 * `InvalidPayloadError`) and returns a function that builds the events once the tenant is known.
 *
 * @internal
 */
export function readTwilioWebhook(
  input: TwilioParams,
  forcedKind?: TwilioWebhookKind,
): (options: Omit<ParseTwilioWebhookOptions, 'params' | 'kind'>) => CallEvent[] {
  const params = toParamRecord(input);
  const kind = forcedKind ?? detectKind(params);
  let build: (base: BaseFields) => CallEvent[];
  switch (kind) {
    case 'recording': {
      const callback = validate(twilioRecordingStatusCallbackSchema, params, kind);
      build = (base) => [recordingEvent(callback, base)];
      break;
    }
    case 'amd': {
      const callback = validate(twilioAmdStatusCallbackSchema, params, kind);
      build = (base) => [amdEvent(callback, base)];
      break;
    }
    case 'status': {
      const callback = validate(twilioStatusCallbackSchema, params, kind);
      if (mapTwilioCallStatus(callback.CallStatus) === undefined) {
        throw new InvalidPayloadError({
          message: `Invalid Twilio status callback: CallStatus "${truncate(callback.CallStatus)}" is not a known Twilio call status.`,
        });
      }
      build = (base) => statusEvents(callback, base);
      break;
    }
    default:
      throw new InvalidArgumentError({ message: `Unknown Twilio webhook kind "${String(kind)}".` });
  }
  return (options) =>
    build({
      tenant: checkWebhookTenant(options.tenant),
      receivedAt: toReceivedAt(options.receivedAt),
      raw: options.includeRaw === true ? { ...params } : undefined,
    });
}

interface BaseFields {
  tenant: TwilioTenant;
  receivedAt: string;
  raw: Record<string, string> | undefined;
}

type Params = Record<string, string>;

function detectKind(params: Params): TwilioWebhookKind {
  const hasStatus = params.CallStatus !== undefined;
  if (params.RecordingStatus !== undefined) return 'recording';
  if (params.RecordingSid !== undefined && !hasStatus) return 'recording';
  if (params.MachineDetectionDuration !== undefined) return 'amd';
  if (params.AnsweredBy !== undefined && !hasStatus) return 'amd';
  return 'status';
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
  );
  statusEvent.status = mapping.status;
  assign(statusEvent, 'sequence', nonNegativeInteger(callback.SequenceNumber));
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
 * An event with the fields every event of one webhook shares. Every field is valid by
 * construction (checked tenant, SIDs of at most 64 safe characters, ISO dates from
 * `toISOString`, non-negative integers, non-empty strings of at most 256 characters), so it is
 * not re-validated here: the sink (the bus) validates anyway, and the tests run every produced
 * event, property-generated ones included, through core's `parseCallEvent`.
 */
function newEvent(
  callback: Readonly<Record<string, unknown>> & { CallSid: string },
  base: BaseFields,
  idSuffix: string,
  type: CallEvent['type'],
  data: CallEventData,
): CallEvent {
  const event: CallEvent = {
    id: `${provider}:${idSuffix}`,
    type,
    tenantId: base.tenant.tenantId,
    provider,
    callId: callback.CallSid,
    occurredAt: parseTwilioTimestamp(text(callback.Timestamp)) ?? base.receivedAt,
    receivedAt: base.receivedAt,
    data,
  };
  assign(event, 'branchId', base.tenant.branchId);
  assign(event, 'agentId', base.tenant.agentId);
  assign(event, 'userId', base.tenant.userId);
  assign(event, 'direction', mapTwilioDirection(text(callback.Direction)));
  assign(event, 'from', normalizeTwilioPhoneNumber(text(callback.From) ?? text(callback.Caller)));
  assign(event, 'to', normalizeTwilioPhoneNumber(text(callback.To) ?? text(callback.Called)));
  assign(event, 'raw', base.raw);
  return event;
}

function validate<Schema extends z.ZodType>(
  schema: Schema,
  params: Params,
  kind: TwilioWebhookKind,
): z.infer<Schema> {
  const result = schema.safeParse(params);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join('.') ?? '';
  const missing = field !== '' && params[field] === undefined;
  const label =
    kind === 'status'
      ? 'status callback'
      : kind === 'amd'
        ? 'AMD callback'
        : 'recording status callback';
  throw new InvalidPayloadError({
    message: missing
      ? `Invalid Twilio ${label}: missing required field ${field}.`
      : `Invalid Twilio ${label}: ${field || '(root)'} ${issue?.message ?? 'is invalid'}.`,
    cause: result.error,
  });
}

function toParamRecord(params: unknown): Params {
  if (params instanceof URLSearchParams) {
    const record: Params = {};
    for (const [name, value] of params) if (!Object.hasOwn(record, name)) record[name] = value;
    return record;
  }
  if (params == null || typeof params !== 'object' || Array.isArray(params)) {
    throw new InvalidPayloadError({
      message: 'Invalid Twilio webhook: the parameters must be an object of strings.',
    });
  }
  const record: Params = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string') record[name] = value;
    else if (Array.isArray(value)) {
      const first = value.find((item: unknown) => typeof item === 'string');
      if (first !== undefined) record[name] = first;
    }
  }
  return record;
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

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
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

import { InvalidArgumentError, InvalidPayloadError } from '@calltrack/core';
import type { z } from 'zod';
import { mapTwilioCallStatus } from './map-twilio-call-status';
import { twilioAmdStatusCallbackSchema } from './twilio-amd-status-callback-schema';
import type { TwilioParams } from './twilio-params';
import { twilioRecordingStatusCallbackSchema } from './twilio-recording-status-callback-schema';
import { twilioSidPattern } from './twilio-sid-schema';
import { twilioStatusCallbackSchema } from './twilio-status-callback-schema';

/**
 * Which Twilio callback a request is: a call `status` callback (or voice request), a `recording`
 * status callback, or an asynchronous answering-machine-detection (`amd`) callback.
 */
export type TwilioWebhookKind = 'status' | 'recording' | 'amd';

type Params = Record<string, string>;

/**
 * A validated Twilio webhook: its kind, its callback fields and every parameter (first value of a
 * repeated name).
 * @internal
 */
export type TwilioWebhookPayload =
  | { kind: 'status'; callback: z.infer<typeof twilioStatusCallbackSchema>; params: Params }
  | {
      kind: 'recording';
      callback: z.infer<typeof twilioRecordingStatusCallbackSchema>;
      params: Params;
    }
  | { kind: 'amd'; callback: z.infer<typeof twilioAmdStatusCallbackSchema>; params: Params };

/**
 * Most characters a parameter's name or value may have. Twilio's longest values (a `CallToken`,
 * a STIR/SHAKEN `StirPassportToken`, SIP headers, recording URLs) are a few KB at most.
 */
const maxNameLength = 1024;
const maxValueLength = 16 * 1024;

/**
 * Validates the parameters of a Twilio webhook: the kind (detected unless given: `RecordingStatus`,
 * or a `RecordingSid` without `CallStatus`, means `recording`; `MachineDetectionDuration`, or an
 * `AnsweredBy` without `CallStatus`, means `amd`; anything else is `status`), the fields that kind
 * requires, and the size of every parameter (names up to 1 KiB, values up to 16 KiB). Throws
 * `InvalidPayloadError` (400) naming the missing, invalid or oversized field.
 * @internal
 */
export function parseTwilioWebhookPayload(
  input: TwilioParams,
  forcedKind?: TwilioWebhookKind,
): TwilioWebhookPayload {
  return parseTwilioParamRecord(toParamRecord(input), forcedKind);
}

/**
 * {@link parseTwilioWebhookPayload} for a record of strings the caller made and will not change
 * (the webhook handler's, from the body it read), which becomes the payload's `params` as it is
 * instead of being copied.
 * @internal
 */
export function parseTwilioParamRecord(
  params: Readonly<Params>,
  forcedKind?: TwilioWebhookKind,
): TwilioWebhookPayload {
  checkParamSizes(params);
  const kind = forcedKind ?? detectKind(params);
  switch (kind) {
    case 'recording':
      return {
        kind,
        callback: validate(twilioRecordingStatusCallbackSchema, params, kind),
        params,
      };
    case 'amd':
      return { kind, callback: validate(twilioAmdStatusCallbackSchema, params, kind), params };
    case 'status': {
      const callback = isValidStatusCallback(params)
        ? (params as z.infer<typeof twilioStatusCallbackSchema>)
        : validate(twilioStatusCallbackSchema, params, kind);
      if (mapTwilioCallStatus(callback.CallStatus) === undefined) {
        throw new InvalidPayloadError({
          message: `Invalid Twilio status callback: CallStatus "${truncate(callback.CallStatus)}" is not a known Twilio call status.`,
        });
      }
      return { kind, callback, params };
    }
    default:
      throw new InvalidArgumentError({ message: `Unknown Twilio webhook kind "${String(kind)}".` });
  }
}

const sidPattern = twilioSidPattern();

/**
 * What {@link twilioStatusCallbackSchema} decides for a record of strings, without zod (a tenth
 * of its cost, and none of its garbage, on every status callback): every other field is an
 * optional string and unknown ones pass, so only `CallSid` and `CallStatus` can fail. What this
 * refuses goes through the schema, which words the error; the tests hold the two to one answer.
 * @internal
 */
export function isValidStatusCallback(params: Params): boolean {
  const { CallSid, CallStatus } = params;
  return (
    typeof CallSid === 'string' &&
    sidPattern.test(CallSid) &&
    typeof CallStatus === 'string' &&
    CallStatus.length > 0
  );
}

function checkParamSizes(params: Params): void {
  for (const name of Object.keys(params)) {
    if (name.length > maxNameLength) {
      throw new InvalidPayloadError({
        message: `Invalid Twilio webhook: a parameter name is longer than ${maxNameLength} characters ("${truncate(name)}").`,
      });
    }
    if (params[name]!.length > maxValueLength) {
      throw new InvalidPayloadError({
        message: `Invalid Twilio webhook: "${truncate(name)}" is longer than ${maxValueLength} characters.`,
      });
    }
  }
}

function detectKind(params: Params): TwilioWebhookKind {
  const hasStatus = params.CallStatus !== undefined;
  if (params.RecordingStatus !== undefined) return 'recording';
  if (params.RecordingSid !== undefined && !hasStatus) return 'recording';
  if (params.MachineDetectionDuration !== undefined) return 'amd';
  if (params.AnsweredBy !== undefined && !hasStatus) return 'amd';
  return 'status';
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
  for (const name of Object.keys(params)) {
    const value: unknown = (params as Record<string, unknown>)[name];
    if (typeof value === 'string') record[name] = value;
    else if (Array.isArray(value)) {
      const first = value.find((item: unknown) => typeof item === 'string');
      if (first !== undefined) record[name] = first;
    }
  }
  return record;
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

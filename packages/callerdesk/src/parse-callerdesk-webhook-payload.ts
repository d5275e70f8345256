import { InvalidArgumentError, InvalidPayloadError, type JsonLimits } from '@calltrack/core';
import { checkPayloadJsonLimits } from '@calltrack/core/internal';
import type { CallerDeskWebhookKind } from './callerdesk-webhook-kind';
import {
  type CallerDeskWebhookFields,
  callerDeskWebhookPayloadSchema,
} from './callerdesk-webhook-payload-schema';
import { parseCallerDeskDuration } from './parse-callerdesk-duration';
import { parseCallerDeskTime } from './parse-callerdesk-time';

/** A validated CallerDesk webhook. */
export interface CallerDeskWebhookPayload {
  /** `live` (Live Call webhook) or `report` (Call Report webhook). */
  kind: CallerDeskWebhookKind;
  /** CallerDesk's call id (`CallSid`, or `Uniqueid` when `CallSid` is absent). */
  callId: string;
  /** CallerDesk's status (`Status`, or `callstatus` when `Status` is absent). */
  status: string;
  /** `StartTime` as ISO 8601 (UTC), read as India time. */
  startedAt: string | undefined;
  /** `EndTime` as ISO 8601 (UTC), read as India time. */
  endedAt: string | undefined;
  /** The documented fields, trimmed, under their documented names. */
  fields: CallerDeskWebhookFields;
  /** The whole payload as received. */
  body: Record<string, unknown>;
}

/** Options of {@link parseCallerDeskWebhookPayload}. */
export interface ParseCallerDeskWebhookPayloadOptions {
  /**
   * Which webhook the payload came from, when the URL tells (one URL per webhook). Detected
   * otherwise: `type=call_report`, an `EndTime` that is a time (not the zero date
   * `0000-00-00 00:00:00`), a `CallDuration`/`TalkDuration` above 0 or a `CallRecordingUrl`
   * mean a call report; anything else is a live call payload.
   */
  kind?: CallerDeskWebhookKind;
}

/**
 * CallerDesk sends flat fields (strings, numbers); a JSON body may nest, but a field nested more
 * than 8 levels or longer than 64 KiB (the default body limit) is no real payload.
 */
const fieldLimits: JsonLimits = { maxDepth: 8, maxLength: 64 * 1024 };

const canonicalNames = new Map<string, string>(
  Object.keys(callerDeskWebhookPayloadSchema.shape).map((name) => [keyOf(name), name]),
);

/**
 * Validates a CallerDesk webhook payload: the record from the query string (GET), the form body
 * or the JSON body (POST). Field names are matched case-insensitively. Throws
 * `InvalidPayloadError` naming the missing or invalid field: `CallSid` and `Status` are required,
 * `StartTime`/`EndTime`, when present, must be `yyyy-mm-dd hh:mm:ss` times, and no field may be
 * nested deeper than 8 levels or be longer than 64 KiB as JSON. A `kind` other than `live` or
 * `report` throws `InvalidArgumentError`.
 */
export function parseCallerDeskWebhookPayload(
  value: unknown,
  options: ParseCallerDeskWebhookPayloadOptions = {},
): CallerDeskWebhookPayload {
  if (value == null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('the payload must be an object of fields.');
  }
  const { kind } = options;
  if (kind !== undefined && kind !== 'live' && kind !== 'report') {
    // Read as a report, a live webhook would end its call.
    throw new InvalidArgumentError({
      message: `Unknown CallerDesk webhook kind "${String(kind)}": give 'live' or 'report'.`,
    });
  }
  const body = value as Record<string, unknown>;
  for (const name of Object.keys(body)) {
    checkPayloadJsonLimits(body[name], fieldLimits, { payload: 'CallerDesk webhook', field: name });
  }
  const result = callerDeskWebhookPayloadSchema.safeParse(canonicalize(body));
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.map(String).join('.') || '(root)';
    throw invalid(`"${field}" is invalid (${issue?.message ?? 'unknown problem'}).`, result.error);
  }
  const fields = result.data;
  const callId = fields.CallSid ?? fields.Uniqueid;
  if (callId === undefined) throw invalid('"CallSid" is required.');
  if (callId.length > 128) throw invalid('"CallSid" is longer than 128 characters.');
  const status = fields.Status ?? fields.callstatus;
  if (status === undefined) throw invalid('"Status" is required.');
  const startedAt = time(fields.StartTime, 'StartTime');
  const endedAt = time(fields.EndTime, 'EndTime');
  return {
    kind: kind ?? detectKind(fields, endedAt),
    callId,
    status,
    startedAt,
    endedAt,
    fields,
    body,
  };
}

/**
 * A report says so (`type`), or shows that the call is over: an end time, time spent, a
 * recording. A live payload may carry the same fields empty, as PHP's zero date (which
 * `endedAt` is undefined for) or a duration of 0: those end nothing.
 */
function detectKind(
  fields: CallerDeskWebhookFields,
  endedAt: string | undefined,
): CallerDeskWebhookKind {
  if (fields.type?.toLowerCase().replace(/[^a-z]/g, '') === 'callreport') return 'report';
  const timeSpent = [fields.CallDuration, fields.TalkDuration].some(
    (duration) => (parseCallerDeskDuration(duration) ?? 0) > 0,
  );
  return endedAt !== undefined || timeSpent || fields.CallRecordingUrl !== undefined
    ? 'report'
    : 'live';
}

/** Renames fields to their documented names; an exactly named field wins over a look-alike. */
function canonicalize(body: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    const canonical = canonicalNames.get(keyOf(name));
    if (canonical === undefined) assign(record, name, value);
    else if (canonical === name) assign(record, name, value);
    else if (!Object.hasOwn(body, canonical) && !Object.hasOwn(record, canonical)) {
      assign(record, canonical, value);
    }
  }
  return record;
}

/** Sets an own property, even for names like `__proto__`. */
function assign(record: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(record, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function keyOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function time(value: string | undefined, field: string): string | undefined {
  const parsed = parseCallerDeskTime(value);
  if (parsed === null) {
    throw invalid(`"${field}" is not a "yyyy-mm-dd hh:mm:ss" time.`);
  }
  return parsed;
}

function invalid(problem: string, cause?: unknown): InvalidPayloadError {
  return new InvalidPayloadError({
    message: `Invalid CallerDesk webhook: ${problem}`,
    ...(cause === undefined ? {} : { cause }),
  });
}

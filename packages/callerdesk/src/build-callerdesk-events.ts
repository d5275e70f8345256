import {
  type CallEvent,
  type CallEventData,
  type CallStatus,
  rawPayloadFields,
  sealCallEvent,
} from '@calltrack/core';
import { checkWebhookTenant, hashText, toReceivedAt } from '@calltrack/core/internal';
import { callerDeskStatusKey, mapCallerDeskCallStatus } from './map-callerdesk-call-status';
import { mapCallerDeskDirection } from './map-callerdesk-direction';
import { normalizeCallerDeskPhoneNumber } from './normalize-callerdesk-phone-number';
import { parseCallerDeskDuration } from './parse-callerdesk-duration';
import { parseCallerDeskTime } from './parse-callerdesk-time';
import type { ParseCallerDeskWebhookOptions } from './parse-callerdesk-webhook';
import type { CallerDeskWebhookPayload } from './parse-callerdesk-webhook-payload';

const provider = 'callerdesk';

/**
 * The mapping half of `parseCallerDeskWebhook`, for a payload already validated with
 * `parseCallerDeskWebhookPayload`: the events of one webhook (see `parseCallerDeskWebhook` for
 * which).
 * @internal
 */
export function buildCallerDeskEvents(
  payload: CallerDeskWebhookPayload,
  options: Omit<ParseCallerDeskWebhookOptions, 'payload' | 'kind'>,
): CallEvent[] {
  const tenant = checkWebhookTenant(options.tenant);
  const receivedAt = toReceivedAt(options.receivedAt);
  const { fields, callId, startedAt } = payload;
  const direction = mapCallerDeskDirection(fields.Direction);
  const caller = normalizeCallerDeskPhoneNumber(fields.SourceNumber);
  const virtualNumber = normalizeCallerDeskPhoneNumber(fields.DestinationNumber);
  const agentNumber = normalizeCallerDeskPhoneNumber(fields.DialWhomNumber);
  const [from, to] = direction === 'outbound' ? [virtualNumber, caller] : [caller, virtualNumber];
  // A payload over core's raw limits is left out (`data.rawOmitted` says why), never the event.
  const { raw, rawOmitted } =
    options.includeRaw === true ? rawPayloadFields(payload.body) : { raw: undefined };
  const common: Record<string, unknown> = {
    tenantId: tenant.tenantId,
    ...defined({
      branchId: tenant.branchId,
      agentId: tenant.agentId,
      userId: tenant.userId,
      direction,
      from: shortOrUndefined(from),
      to: shortOrUndefined(to),
      raw,
    }),
    provider,
    callId,
    receivedAt,
  };
  const base: CallEventData = {
    providerStatus: payload.status,
    ...defined({
      agentNumber,
      callGroup: fields.call_group,
      campaignId: fields.campid,
      accountId: fields.account_id,
      hangupCause: fields.hangup_cause,
      keyPress: fields.key_press,
      errorCode: fields.error_code,
      startedAt,
      rawOmitted,
    }),
  };
  const callIdPart = idPart(callId, 128);
  const make = (
    id: string,
    type: string,
    occurredAt: string,
    data: CallEventData,
    status?: CallStatus,
  ) =>
    sealCallEvent({
      ...common,
      id: `${provider}:${callIdPart}:${id}`,
      type,
      occurredAt,
      ...(status === undefined ? {} : { status }),
      data: { ...base, ...data },
    });
  const answeredAt = lenientTime(fields.LegB_Picked_time);

  if (payload.kind === 'live') {
    const status = mapCallerDeskCallStatus(payload.status, 'live');
    const agent = agentNumber === undefined ? '' : `:${agentNumber.replace(/\D/g, '').slice(-12)}`;
    const now = latest(startedAt, receivedAt);
    const initiated = make('initiated', 'call.initiated', startedAt ?? receivedAt, {}, 'queued');
    if (status === 'in-progress') {
      return [
        initiated,
        make(
          `answered${agent}`,
          'call.answered',
          answeredAt ?? now,
          defined({ answeredAt }),
          'in-progress',
        ),
      ];
    }
    if (status === 'ringing') {
      return [initiated, make(`ringing${agent}`, 'call.ringing', now, {}, 'ringing')];
    }
    const key = idPart(callerDeskStatusKey(payload.status) || 'unknown', 64);
    return [initiated, make(`live:${key}${agent}`, 'call.status_changed', now, {}, status)];
  }

  const talkMs = parseCallerDeskDuration(fields.TalkDuration);
  const totalMs = parseCallerDeskDuration(fields.CallDuration);
  const status = mapCallerDeskCallStatus(payload.status, 'report', talkMs ?? 0) ?? 'failed';
  const durationMs = talkMs ?? (status === 'completed' ? totalMs : 0);
  const endedAt = payload.endedAt ?? addMilliseconds(startedAt, totalMs);
  const occurredAt = endedAt ?? receivedAt;
  const recordingUrl = fields.CallRecordingUrl;
  const events = [
    make(
      'ended',
      'call.ended',
      occurredAt,
      defined({
        durationMs,
        totalDurationMs: totalMs,
        recordingUrl,
        coins: toNumber(fields.coins),
        answeredAt,
        endedAt,
      }),
      status,
    ),
  ];
  if (recordingUrl !== undefined) {
    events.push(
      make(
        'recording',
        'call.recording',
        occurredAt,
        defined({ recordingUrl, recordingDurationMs: talkMs }),
      ),
    );
  }
  return events;
}

/**
 * `text` as a part of an event id: `%` and `:` escaped (`%25`, `%3A`), so a `:` in an id always
 * separates parts and two calls never share an id (call `A`'s live status `ended` and call
 * `A:live`'s report were both `callerdesk:A:live:ended`). Ordinary call ids and statuses have
 * neither character and keep the ids they always had. A part whose escaped form is longer than
 * `maxLength` becomes `%H` and a hash, which no escaped form can be, so every id stays within
 * core's 256 characters (128 for the call id, 64 for a status: 222 at most).
 */
function idPart(text: string, maxLength: number): string {
  const escaped = text.replace(/[%:]/g, (character) => (character === '%' ? '%25' : '%3A'));
  if (escaped.length <= maxLength) return escaped;
  return `%H${hashText(text)}`;
}

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+(?:\.\d+)?$/.test(value)) return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function addMilliseconds(iso: string | undefined, milliseconds: number | undefined) {
  if (iso === undefined || milliseconds === undefined) return undefined;
  const time = Date.parse(iso) + milliseconds;
  return time <= maxTime ? new Date(time).toISOString() : undefined;
}

/** A leg time: used when it parses, ignored when it does not (these fields are informational). */
function lenientTime(value: string | undefined): string | undefined {
  return parseCallerDeskTime(value) ?? undefined;
}

function latest(first: string | undefined, second: string): string {
  return first !== undefined && first > second ? first : second;
}

function shortOrUndefined(value: string | undefined): string | undefined {
  return value !== undefined && value.length <= 256 ? value : undefined;
}

/** Latest instant an ISO 8601 string with a four-digit year can hold. */
const maxTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Drops the `undefined` entries, so optional event fields are absent rather than undefined. */
function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) result[key] = value;
  return result as Partial<T>;
}

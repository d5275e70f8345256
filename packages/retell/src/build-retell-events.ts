import { createHash } from 'node:crypto';
import {
  type CallEvent,
  type CallEventData,
  type CallStatus,
  InvalidPayloadError,
  isTerminalStatus,
  rawPayloadFields,
  sealCallEvent,
} from '@calltrack/core';
import { checkWebhookTenant, toReceivedAt } from '@calltrack/core/internal';
import { fitRetellEventData } from './fit-retell-event-data';
import { mapRetellCallStatus } from './map-retell-call-status';
import { mapRetellDirection } from './map-retell-direction';
import { normalizeRetellPhoneNumber } from './normalize-retell-phone-number';
import type { ParseRetellWebhookOptions } from './parse-retell-webhook';
import type { RetellTenant } from './retell-tenant';
import type { RetellCall, RetellWebhookPayload } from './retell-webhook-payload-schema';

const provider = 'retell';

/**
 * The mapping half of `parseRetellWebhook`, for a payload already validated with
 * `parseRetellWebhookPayload`: the events of one webhook (see `parseRetellWebhook` for which).
 * @internal
 */
export function buildRetellEvents(
  payload: RetellWebhookPayload,
  options: Omit<ParseRetellWebhookOptions, 'payload'>,
): CallEvent[] {
  const tenant = checkWebhookTenant(options.tenant);
  const receivedAt = toReceivedAt(options.receivedAt);
  const { call, event } = payload;
  if (call === undefined) return [];
  const common = commonFields(call, tenant, receivedAt);
  const base = baseData(call);
  if (options.includeRaw === true) {
    // A payload over core's raw limits (a call past an hour) is left out, never the event.
    const { raw, rawOmitted } = rawPayloadFields(payload.body);
    if (raw !== undefined) common.raw = raw;
    else base.rawOmitted = rawOmitted;
  }
  const callId = call.call_id;
  const startedAt = toIsoTime(call.start_timestamp, 'call.start_timestamp');
  const endedAt = toIsoTime(call.end_timestamp, 'call.end_timestamp');
  const make = (
    id: string,
    type: string,
    occurredAt: string,
    data: CallEventData,
    status?: CallStatus,
  ) =>
    sealCallEvent({
      ...common,
      id: `${provider}:${callId}:${id}`,
      type,
      occurredAt,
      ...(status === undefined ? {} : { status }),
      data: fitRetellEventData({ ...base, ...data }),
    });

  switch (event) {
    case 'call_started': {
      const occurredAt = startedAt ?? receivedAt;
      return [
        make('initiated', 'call.initiated', occurredAt, {}, 'queued'),
        make('answered', 'call.answered', occurredAt, defined({ startedAt }), 'in-progress'),
      ];
    }
    case 'call_ended': {
      const data = endData(call, startedAt, endedAt);
      const occurredAt = endedAt ?? endFromDuration(call) ?? receivedAt;
      const events = [make('ended', 'call.ended', occurredAt, data, terminalStatus(call))];
      const recordingUrl = nonEmpty(call.recording_url);
      if (recordingUrl !== undefined) {
        events.push(
          make(
            'recording',
            'call.recording',
            occurredAt,
            defined({
              recordingUrl,
              recordingMultiChannelUrl: nonEmpty(call.recording_multi_channel_url),
              recordingDurationMs: data.durationMs,
            }),
          ),
        );
      }
      return events;
    }
    case 'call_analyzed': {
      const data: CallEventData = {
        ...endData(call, startedAt, endedAt),
        ...defined({ analysis: toAnalysis(call.call_analysis) }),
      };
      return [make('analyzed', 'call.analyzed', receivedAt, data, terminalStatus(call))];
    }
    case 'transcript_updated': {
      const transcript = transcriptOf(call) ?? '';
      const turns = call.transcript_object?.length ?? 0;
      return [
        make(`transcript:${turns}:${shortHash(transcript)}`, 'call.transcript', receivedAt, {
          transcript,
          transcriptTurns: turns,
        }),
      ];
    }
    case 'transfer_started':
    case 'transfer_bridged':
    case 'transfer_cancelled':
    case 'transfer_ended': {
      const destination = nonEmpty(call.transfer_destination);
      const transferEndedAt = toIsoTime(call.transfer_end_timestamp, 'call.transfer_end_timestamp');
      const occurredAt = (event === 'transfer_ended' ? transferEndedAt : undefined) ?? receivedAt;
      const suffix = destination === undefined ? '' : `:${shortHash(destination)}`;
      return [
        make(
          `${event}${suffix}`,
          `call.${event}`,
          occurredAt,
          defined({
            transferDestination: destination,
            transferOption: call.transfer_option ?? undefined,
            transferEndedAt,
          }),
        ),
      ];
    }
    default:
      return [];
  }
}

/** Fields every event of one webhook shares. */
function commonFields(
  call: RetellCall,
  tenant: RetellTenant,
  receivedAt: string,
): Record<string, unknown> {
  return {
    tenantId: tenant.tenantId,
    ...defined({
      branchId: tenant.branchId,
      agentId: tenant.agentId ?? nonEmpty(call.agent_id),
      userId: tenant.userId,
      direction: mapRetellDirection(call.direction),
      from: normalizeRetellPhoneNumber(call.from_number),
      to: normalizeRetellPhoneNumber(call.to_number),
    }),
    provider,
    callId: call.call_id,
    receivedAt,
  };
}

/** What every event's `data` carries. */
function baseData(call: RetellCall): CallEventData {
  return defined({
    providerStatus: nonEmpty(call.call_status),
    callType: nonEmpty(call.call_type),
    metadata: call.metadata ?? undefined,
  });
}

/** What `call.ended` and `call.analyzed` carry. */
function endData(call: RetellCall, startedAt?: string, endedAt?: string): CallEventData {
  return defined({
    durationMs: durationOf(call),
    disconnectionReason: nonEmpty(call.disconnection_reason),
    recordingUrl: nonEmpty(call.recording_url),
    recordingMultiChannelUrl: nonEmpty(call.recording_multi_channel_url),
    publicLogUrl: nonEmpty(call.public_log_url),
    transcript: transcriptOf(call),
    transferDestination: nonEmpty(call.transfer_destination),
    cost: toCost(call.call_cost?.combined_cost),
    startedAt,
    endedAt,
  });
}

/** The call's status once it ended: always terminal. */
function terminalStatus(call: RetellCall): CallStatus {
  const status = mapRetellCallStatus(call);
  if (isTerminalStatus(status)) return status;
  // An ended call Retell still reports as `registered`/`ongoing`: judge by whether it connected.
  return mapRetellCallStatus({ ...call, call_status: 'ended' });
}

function durationOf(call: RetellCall): number | undefined {
  const duration = call.duration_ms;
  if (typeof duration === 'number' && Number.isFinite(duration) && duration >= 0) {
    return Math.round(duration);
  }
  const start = call.start_timestamp;
  const end = call.end_timestamp;
  if (typeof start === 'number' && typeof end === 'number' && end >= start && end - start < 1e12) {
    return Math.round(end - start);
  }
  return undefined;
}

function endFromDuration(call: RetellCall): string | undefined {
  const start = call.start_timestamp;
  const duration = durationOf(call);
  if (typeof start !== 'number' || duration === undefined) return undefined;
  return toIsoTime(start + duration, 'call.duration_ms');
}

function transcriptOf(call: RetellCall): string | undefined {
  if (typeof call.transcript === 'string') return call.transcript;
  const turns = call.transcript_object;
  if (!Array.isArray(turns)) return undefined;
  return turns.map((turn) => `${turn.role ?? 'unknown'}: ${turn.content ?? ''}`).join('\n');
}

const analysisNames: Readonly<Record<string, string>> = {
  call_summary: 'summary',
  call_successful: 'successful',
  in_voicemail: 'inVoicemail',
  user_sentiment: 'userSentiment',
  custom_analysis_data: 'custom',
};

function toAnalysis(analysis: Record<string, unknown> | null | undefined) {
  if (analysis == null) return undefined;
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(analysis)) {
    if (value === undefined) continue;
    result[Object.hasOwn(analysisNames, name) ? analysisNames[name]! : name] = value;
  }
  return result;
}

function toCost(cents: number | null | undefined) {
  if (typeof cents !== 'number' || !Number.isFinite(cents)) return undefined;
  return { amount: cents / 100, currency: 'USD' };
}

/** Latest instant an ISO 8601 string with a four-digit year can hold. */
const maxTime = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function toIsoTime(milliseconds: number | null | undefined, field: string): string | undefined {
  if (milliseconds == null) return undefined;
  if (!Number.isFinite(milliseconds) || milliseconds < 0 || milliseconds > maxTime) {
    throw new InvalidPayloadError({
      message: `Invalid Retell webhook: "${field}" is not a valid time in milliseconds.`,
    });
  }
  return new Date(Math.round(milliseconds)).toISOString();
}

function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 16);
}

function nonEmpty(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Drops the `undefined` entries, so optional event fields are absent rather than undefined. */
function defined<T extends Record<string, unknown>>(record: T): Partial<T> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) result[key] = value;
  return result as Partial<T>;
}

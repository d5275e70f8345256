import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import { parseFormBody } from '@calltrack/core/internal';
import { buildCallerDeskEvents } from './build-callerdesk-events';
import type { CallerDeskTenant } from './callerdesk-tenant';
import type { CallerDeskWebhookKind } from './callerdesk-webhook-kind';
import { parseCallerDeskJson } from './parse-callerdesk-json';
import { parseCallerDeskWebhookPayload } from './parse-callerdesk-webhook-payload';

/** Options of {@link parseCallerDeskWebhook}. */
export interface ParseCallerDeskWebhookOptions {
  /**
   * The webhook's fields: a record (the parsed JSON body, or the query / form fields),
   * `URLSearchParams`, or text (a JSON object, or a query string / form body).
   */
  payload: unknown;
  /** The tenant the call belongs to, copied onto every event. */
  tenant: CallerDeskTenant;
  /** `live` or `report`; detected when absent: `type=call_report`, an `EndTime`, a duration or a recording URL mean a report. */
  kind?: CallerDeskWebhookKind;
  /** When calltrack received the webhook; defaults to now. `occurredAt` when CallerDesk gives no time. */
  receivedAt?: Date | string | number;
  /** Attach the original fields as `raw` (they hold phone numbers and names: personal data). Default false. */
  includeRaw?: boolean;
}

/**
 * Turns one CallerDesk webhook (GET query, POST form or JSON) into normalized `CallEvent`s, each
 * sealed with core's `sealCallEvent` (validated once and frozen: the tracker and the bus take it
 * without validating it again; copy one to change it). Ids depend only on the payload, so a retried webhook
 * yields the same ids:
 *
 * - a **live call** payload gives `call.initiated` (`queued`, id `callerdesk:<CallSid>:initiated`,
 *   the same for every live payload of the call, so repeats are dropped as duplicates) followed
 *   by `call.ringing` (`AgentonRing`…), `call.answered` (`ANSWER`, `Picked`…) or, for any other
 *   status, `call.status_changed` (with the terminal status when the status is one). Ids
 *   `callerdesk:<CallSid>:ringing[:<agent digits>]`, `:answered[:<agent digits>]`,
 *   `:live:<status>`.
 * - a **call report** gives `call.ended` with the terminal status (`ANSWER` → `completed`, …),
 *   `data.durationMs` (talk time), `totalDurationMs`, `recordingUrl`, `agentNumber`, id
 *   `callerdesk:<CallSid>:ended`; plus `call.recording` when there is a `CallRecordingUrl`, id
 *   `callerdesk:<CallSid>:recording`.
 *
 * In ids, `:` and `%` in the call id are escaped (`%3A`, `%25`), so two calls never share an id;
 * a part too long for core's 256 characters (a call id escaped past 128 characters, a status of
 * more than 64 letters) becomes `%H` and a hash.
 *
 * Numbers become E.164 (`+91…` for Indian numbers with a trunk `0` or as bare 10 digits). Times
 * are India time (+05:30) and become UTC ISO 8601. Direction `IVR` is inbound (`from` = the
 * caller `SourceNumber`, `to` = the virtual number `DestinationNumber`); `WEBOBD` (click-to-call)
 * is outbound (`from` = the virtual number the customer sees, `to` = the customer
 * `SourceNumber`). The agent's number is `data.agentNumber` (`DialWhomNumber`).
 *
 * Throws `InvalidPayloadError` (400) naming the missing or invalid field, and
 * `InvalidArgumentError` for a bad `tenant` or `receivedAt`. Throws nothing else.
 */
export function parseCallerDeskWebhook(options: ParseCallerDeskWebhookOptions): CallEvent[] {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'parseCallerDeskWebhook needs an options object.' });
  }
  const payload = parseCallerDeskWebhookPayload(
    toRecord(options.payload),
    options.kind === undefined ? {} : { kind: options.kind },
  );
  return buildCallerDeskEvents(payload, options);
}

/** Accepts a record, `URLSearchParams`, JSON text or a query string / form body. */
function toRecord(payload: unknown): unknown {
  if (payload instanceof URLSearchParams) return parseFormBody(payload.toString());
  if (typeof payload !== 'string') return payload;
  const text = payload.trim();
  if (text.startsWith('{') || text.startsWith('[')) return parseCallerDeskJson(text);
  return parseFormBody(text.startsWith('?') ? text.slice(1) : text);
}

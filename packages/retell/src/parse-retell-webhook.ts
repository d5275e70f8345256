import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import { buildRetellEvents } from './build-retell-events';
import { parseRetellWebhookPayload } from './parse-retell-webhook-payload';
import type { RetellTenant } from './retell-tenant';

/** Options of {@link parseRetellWebhook}. */
export interface ParseRetellWebhookOptions {
  /** The webhook body: the parsed JSON object, or its text. */
  payload: unknown;
  /** The tenant the call belongs to, copied onto every event. */
  tenant: RetellTenant;
  /**
   * When calltrack received the webhook; defaults to now. Also `occurredAt` of events Retell
   * gives no time for (`call_analyzed`, `transcript_updated`, transfers other than `transfer_ended`).
   */
  receivedAt?: Date | string | number;
  /** Attach the original payload as `raw` (it holds numbers and transcripts: personal data). Default false. */
  includeRaw?: boolean;
}

/**
 * Turns one Retell webhook into normalized `CallEvent`s, each sealed with core's
 * `sealCallEvent` (validated once and frozen: the tracker and the bus take it without validating
 * it again; copy one to change it). Ids depend only on the payload, so a retried webhook yields the same ids:
 *
 * - `call_started` → `call.initiated` (`queued`) and `call.answered` (`in-progress`), ids
 *   `retell:<call_id>:initiated` / `:answered`. Retell sends `call_started` only for calls that
 *   connected.
 * - `call_ended` → `call.ended` with the terminal status from `disconnection_reason`
 *   (`dial_busy` → `busy`, `dial_no_answer` → `no-answer`, …), `data.durationMs`, `recordingUrl`, `transcript`, `cost`,
 *   `disconnectionReason`; plus `call.recording` when there is a `recording_url`. Ids
 *   `retell:<call_id>:ended` / `:recording`.
 * - `call_analyzed` → `call.analyzed` with `data.analysis` (`summary`, `successful`,
 *   `inVoicemail`, `userSentiment`, `custom`, and any other field Retell adds) and the same
 *   terminal status; id `retell:<call_id>:analyzed`.
 * - `transcript_updated` → `call.transcript` with `data.transcript`; id
 *   `retell:<call_id>:transcript:<turns>:<hash of the transcript>`.
 * - `transfer_started | transfer_bridged | transfer_cancelled | transfer_ended` →
 *   `call.transfer_started | _bridged | _cancelled | _ended` with `data.transferDestination`; id
 *   `retell:<call_id>:<event>[:<hash of the destination>]`.
 * - any other event (`chat_*`, `call_inbound`, events added later) → `[]`.
 *
 * `data.cost` is `call_cost.combined_cost` converted from cents to `{ amount, currency: 'USD' }`.
 * Retell's `agent_id` becomes `agentId` unless the tenant names one. Web calls have no direction
 * or numbers. An event whose `data` would pass 896 KiB (core's 1 MiB less the tracker's room for
 * its snapshot) leaves out the transcript, then `analysis`, `metadata` and other free-form
 * strings until it fits, and names them in `data.omittedFields`.
 *
 * Throws `InvalidPayloadError` (400) naming the missing or invalid field, and
 * `InvalidArgumentError` for a bad `tenant` or `receivedAt`. Throws nothing else.
 */
export function parseRetellWebhook(options: ParseRetellWebhookOptions): CallEvent[] {
  if (options == null || typeof options !== 'object') {
    throw new InvalidArgumentError({ message: 'parseRetellWebhook needs an options object.' });
  }
  return buildRetellEvents(parseRetellWebhookPayload(options.payload), options);
}

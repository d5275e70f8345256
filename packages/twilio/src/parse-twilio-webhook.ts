import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import { buildTwilioEvents } from './build-twilio-events';
import { parseTwilioWebhookPayload, type TwilioWebhookKind } from './parse-twilio-webhook-payload';
import type { TwilioParams } from './twilio-params';
import type { TwilioTenant } from './twilio-tenant';

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
  /**
   * The caller's reference for the call (a dialer attempt, a click-to-call request id), set as
   * `data.reference` on every event: what `createTwilioCallControl` puts in the status callback
   * URL's `reference` query parameter. 1-128 characters without whitespace or control
   * characters; anything else is left off.
   */
  reference?: string;
}

/**
 * Turns one Twilio voice webhook into normalized `CallEvent`s, each sealed with core's
 * `sealCallEvent` (validated once and frozen: the tracker and the bus take it without validating
 * it again; copy one to change it):
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
  return buildTwilioEvents(parseTwilioWebhookPayload(options.params, options.kind), options);
}

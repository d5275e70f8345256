import type { CallStatus } from '@calltrack/core';

const busy = new Set(['dial_busy', 'user_declined']);
const noAnswer = new Set(['dial_no_answer']);
const failed = new Set([
  'dial_failed',
  'invalid_destination',
  'telephony_provider_permission_denied',
  'telephony_provider_unavailable',
  'sip_routing_error',
  'marked_as_spam',
  'concurrency_limit_reached',
  'no_concurrency_fallback',
  'no_valid_payment',
  'registered_call_timeout',
]);
const completed = new Set([
  'user_hangup',
  'agent_hangup',
  'call_transfer',
  'voicemail_reached',
  'ivr_reached',
  'inactivity',
  'max_duration_reached',
  'scam_detected',
  'transfer_bridged',
  'transfer_cancelled',
  'call_take_over',
]);

/** What {@link mapRetellCallStatus} looks at. */
export interface RetellCallStatusInput {
  /** Retell `call_status`: `registered | not_connected | ongoing | ended | error`. */
  call_status?: string | null;
  /** Retell `disconnection_reason`, e.g. `dial_no_answer`. */
  disconnection_reason?: string | null;
  /** Set once the call connected. */
  start_timestamp?: number | null;
  duration_ms?: number | null;
}

/**
 * Maps a Retell call to the normalized status. An ended call's status comes from its
 * `disconnection_reason`: `dial_busy` and `user_declined` → `busy`, `dial_no_answer` →
 * `no-answer`, dial and telephony failures and every `error_*` → `failed`, hang-ups, transfers,
 * voicemail and other normal endings → `completed`, `manual_stopped` → `canceled` before the call
 * connected and `completed` after. Without an ending: `registered` → `queued`, `ongoing` →
 * `in-progress`, `error` and `not_connected` → `failed`. Unknown reasons and statuses fall back
 * to `completed` for a call that connected and `failed` for one that did not.
 */
export function mapRetellCallStatus(call: RetellCallStatusInput): CallStatus {
  const reason = call.disconnection_reason ?? undefined;
  const connected =
    (typeof call.start_timestamp === 'number' && call.call_status !== 'not_connected') ||
    (typeof call.duration_ms === 'number' && call.duration_ms > 0);
  if (reason !== undefined && reason !== '') {
    if (busy.has(reason)) return 'busy';
    if (noAnswer.has(reason)) return 'no-answer';
    if (failed.has(reason) || reason.startsWith('error_')) return 'failed';
    if (completed.has(reason)) return 'completed';
    if (reason === 'manual_stopped') return connected ? 'completed' : 'canceled';
    return connected ? 'completed' : 'failed';
  }
  switch (call.call_status) {
    case 'registered':
      return 'queued';
    case 'ongoing':
      return 'in-progress';
    case 'error':
    case 'not_connected':
      return 'failed';
    default:
      // `ended`, or a status this version does not know.
      return connected ? 'completed' : 'failed';
  }
}

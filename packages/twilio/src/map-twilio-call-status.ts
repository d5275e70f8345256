import type { CallStatus } from '@calltrack/core';

/** The `CallStatus` values Twilio sends on voice webhooks and status callbacks. */
export const twilioCallStatuses = [
  'queued',
  'initiated',
  'ringing',
  'in-progress',
  'completed',
  'busy',
  'no-answer',
  'failed',
  'canceled',
] as const;

/** A Twilio `CallStatus` value. */
export type TwilioCallStatus = (typeof twilioCallStatuses)[number];

/** The normalized status and the event type one Twilio `CallStatus` maps to. */
export interface TwilioCallStatusMapping {
  /** The normalized calltrack status. */
  status: CallStatus;
  /** The event type a status callback with this `CallStatus` produces. */
  type: 'call.initiated' | 'call.ringing' | 'call.answered' | 'call.ended';
}

const mappings: Readonly<Record<string, TwilioCallStatusMapping>> = {
  queued: { status: 'queued', type: 'call.initiated' },
  initiated: { status: 'queued', type: 'call.initiated' },
  ringing: { status: 'ringing', type: 'call.ringing' },
  'in-progress': { status: 'in-progress', type: 'call.answered' },
  // `answered` is what `<Dial>` action callbacks say in DialCallStatus.
  answered: { status: 'in-progress', type: 'call.answered' },
  completed: { status: 'completed', type: 'call.ended' },
  busy: { status: 'busy', type: 'call.ended' },
  'no-answer': { status: 'no-answer', type: 'call.ended' },
  failed: { status: 'failed', type: 'call.ended' },
  canceled: { status: 'canceled', type: 'call.ended' },
  cancelled: { status: 'canceled', type: 'call.ended' },
};

/**
 * Maps a Twilio `CallStatus` (case-insensitive) to the normalized status and event type:
 * `queued`/`initiated` → `queued` + `call.initiated`, `ringing` → `call.ringing`, `in-progress` →
 * `call.answered`, and `completed | busy | no-answer | failed | canceled` → that terminal status +
 * `call.ended`. Returns `undefined` for a value Twilio does not document.
 */
export function mapTwilioCallStatus(
  callStatus: string | null | undefined,
): TwilioCallStatusMapping | undefined {
  if (typeof callStatus !== 'string') return undefined;
  const key = callStatus.trim().toLowerCase();
  return Object.hasOwn(mappings, key) ? mappings[key] : undefined;
}

import type { CallSnapshot } from '@calltrack/core';
import { maskPhoneNumber } from '@calltrack/core';

/**
 * What the campaign page shows of an ended call: the customer's number masked, nothing else
 * personal. Made on the server, so the unmasked number never reaches the browser.
 */
export interface CallSummary {
  callId: string;
  provider?: string;
  status?: string;
  direction?: string;
  /** The customer's number, masked (`+91******210`). */
  contact: string;
  /**
   * How it went, for people: the status, except `voicemail` for a call a machine answered
   * (the tracker's status says `completed`, with a talk time nobody talked).
   */
  outcome?: string;
  /** Talk time in milliseconds, once the call has ended. */
  durationMs?: number;
  endedAt?: string;
  recordingUrl?: string;
}

/** The fields of a call (or of a call event) a summary is made from. */
export type CallSummarySource = Partial<
  Pick<
    CallSnapshot,
    | 'callId'
    | 'provider'
    | 'status'
    | 'direction'
    | 'from'
    | 'to'
    | 'durationMs'
    | 'endedAt'
    | 'recordingUrl'
    | 'answeredBy'
    | 'disconnectionReason'
  >
>;

/** True when a machine took the call (Twilio's AMD, Retell reaching voicemail). */
export function answeredByMachine(call: CallSummarySource): boolean {
  const answeredBy = call.answeredBy ?? '';
  return (
    answeredBy.startsWith('machine') ||
    answeredBy === 'fax' ||
    call.disconnectionReason === 'voicemail_reached'
  );
}

/**
 * Summarizes a tracker call (`CallSnapshot`, as the campaign router reads it or as an event
 * carries it in `event.data.call`). The customer is `to` on outbound calls, `from` otherwise.
 */
export function toCallSummary(call: CallSummarySource): CallSummary {
  const customer = call.direction === 'outbound' ? call.to : (call.from ?? call.to);
  return {
    callId: call.callId ?? '',
    provider: call.provider,
    status: call.status,
    outcome: call.status === 'completed' && answeredByMachine(call) ? 'voicemail' : call.status,
    direction: call.direction,
    contact: maskPhoneNumber(customer) || 'unknown',
    durationMs: call.durationMs,
    endedAt: call.endedAt,
    recordingUrl: call.recordingUrl,
  };
}

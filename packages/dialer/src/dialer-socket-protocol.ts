import type { CallStatus } from '@calltrack/core';
import type {
  DialerLeadSkippedData,
  DialerRunFinishedData,
  DialerRunStartedData,
} from './dialer-event-data';

/** Payload of `call:started`: the provider accepted a call to one of the user's leads. */
export interface CallStartedPayload {
  leadId: string;
  attemptId: string;
  /** The run that placed it; absent when the call's first webhook announced it. */
  runId?: string;
  provider: string;
  /** Undefined when the provider answers without one (CallerDesk): the next update has it. */
  callId?: string;
  /** ISO 8601. */
  at: string;
}

/** Payload of `call:status_updated` and `call:completed`: the tracker's event for that call. */
export interface CallStatusPayload {
  leadId: string;
  attemptId: string;
  provider: string;
  callId?: string;
  /** The tracker's event type, e.g. `call.ringing`, `call.ended`. */
  type: string;
  /** The call's status after it; for `call:completed` how it ended (`completed`, `busy`…). */
  status?: CallStatus;
  /** ISO 8601. */
  at: string;
}

/** The answer to `leads:fetched`. */
export type LeadsFetchedAck =
  | { ok: true; outcome: 'started'; runId: string }
  | { ok: true; outcome: 'follow_up_scheduled' }
  | {
      ok: false;
      error: {
        /** `forbidden` (no user in the credentials), `invalid_payload`, or the dialer's error. */
        code: string;
        message: string;
      };
    };

/** What the server emits, in the user's room (`userRoom(tenantId, userId)`), in order. */
export interface DialerServerEvents {
  'call:started': (payload: CallStartedPayload) => void;
  'call:status_updated': (payload: CallStatusPayload) => void;
  'call:completed': (payload: CallStatusPayload) => void;
  'dialer:run_started': (payload: DialerRunStartedData) => void;
  'dialer:lead_skipped': (payload: DialerLeadSkippedData) => void;
  'dialer:run_finished': (payload: DialerRunFinishedData) => void;
}

/** What the client sends. */
export interface DialerClientEvents {
  /** The seed's trigger: run the signed-in user's pending leads. The payload is not read. */
  'leads:fetched': (payload: unknown, ack?: (answer: LeadsFetchedAck) => void) => void;
}

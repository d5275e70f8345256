import type { CallStatus } from '@calltrack/core';
import type { CallerDeskWebhookKind } from './callerdesk-webhook-kind';

const inProgress = new Set(['answer', 'answered', 'picked', 'connected', 'inprogress', 'bridged']);
const ringing = new Set([
  'agentonring',
  'ringing',
  'ring',
  'transfertoagent',
  'initiated',
  'calling',
  'dialing',
]);
const terminal: Readonly<Record<string, CallStatus>> = {
  // The call connected and ended normally.
  completed: 'completed',
  // Hung up before anyone picked up (incoming), or the agent leg did not connect (click-to-call).
  cancel: 'canceled',
  cancelled: 'canceled',
  canceled: 'canceled',
  cancelagent: 'canceled',
  abandoned: 'canceled',
  abandonedcall: 'canceled',
  // Rang out, or the customer leg of a click-to-call did not connect.
  noanswer: 'no-answer',
  cancelcustomer: 'no-answer',
  missed: 'no-answer',
  unanswered: 'no-answer',
  busy: 'busy',
  agentengaged: 'busy',
  congestion: 'failed',
  unavailable: 'failed',
  chanunavail: 'failed',
  notconnected: 'failed',
  failed: 'failed',
  failure: 'failed',
  error: 'failed',
};

/**
 * Reduces a CallerDesk status to a comparison key: lower case, without the bracketed hangup cause
 * and without spaces, hyphens or underscores. `NO ANSWER (0-Agent)` → `noanswer`,
 * `Cancel-Customer` → `cancelcustomer`.
 */
export function callerDeskStatusKey(status: string): string {
  return status
    .toLowerCase()
    .split('(')[0]!
    .replace(/[^a-z]/g, '');
}

/**
 * Maps a CallerDesk status (incoming and outgoing vocabularies, case and spacing tolerant) to the
 * normalized status.
 *
 * On a **call report** the call is over, so the result is always terminal: `ANSWER`, `Picked`,
 * `Transfer to agent` → `completed`; `CANCEL`, `Cancel-Agent`, `AbandonedCall` → `canceled`;
 * `NO ANSWER`, `NOANSWER`, `Cancel-Customer`, `MISSED`, `AgentonRing` → `no-answer`; `BUSY`,
 * `AgentEngaged` → `busy`; `CONGESTION`, `Unavailable`, `CHANUNAVAIL`, `Not connected`, `FAILED`
 * → `failed`. An unknown status is `completed` when there was talk time, `failed` otherwise.
 *
 * On a **live call** payload: answered statuses → `in-progress`; `AgentonRing`, `Transfer to
 * agent` and other ringing statuses → `ringing`; the terminal ones as above; an unknown status →
 * `undefined`.
 */
export function mapCallerDeskCallStatus(
  status: string,
  kind: CallerDeskWebhookKind,
  talkDurationMs = 0,
): CallStatus | undefined {
  const key = callerDeskStatusKey(status);
  if (kind === 'live') {
    if (inProgress.has(key)) return 'in-progress';
    if (ringing.has(key)) return 'ringing';
    return Object.hasOwn(terminal, key) ? terminal[key] : undefined;
  }
  if (inProgress.has(key) || key === 'transfertoagent') return 'completed';
  if (ringing.has(key)) return 'no-answer';
  if (Object.hasOwn(terminal, key)) return terminal[key];
  return talkDurationMs > 0 ? 'completed' : 'failed';
}

import type { CallScript, ScriptedWebhook } from './call-script';
import { retellCallCost } from './retell-call-cost';
import type { ScriptedCallEnding } from './scripted-call-ending';
import { scriptedCallStatusAt, scriptedCallTimeline } from './scripted-call-timeline';

/** The call fields every Retell webhook of a call repeats. */
const identityFields = [
  'call_type',
  'from_number',
  'to_number',
  'direction',
  'call_id',
  'agent_id',
  'agent_version',
  'agent_name',
  'metadata',
  'retell_llm_dynamic_variables',
  'opt_in_signed_url',
  'data_storage_setting',
];

interface TranscriptTurn {
  role: string;
  content: string;
  words?: { start?: number }[];
}

/**
 * What Retell sends when a call is stopped through its API at `atMs` (`POST /v2/stop-call`):
 * `call_ended` with `disconnection_reason: manual_stopped` (the transcript cut at the stop, the
 * duration and cost so far; `not_connected` when it had not connected yet), then
 * `call_analyzed`. Returns undefined when the call had already ended by then.
 *
 * @internal
 */
export function endRetellCallScript(
  script: CallScript,
  atMs: number,
): ScriptedCallEnding | undefined {
  const timeline = scriptedCallTimeline(script);
  const status = scriptedCallStatusAt(timeline, atMs);
  if (status !== 'queued' && status !== 'ringing' && status !== 'in-progress') return undefined;
  const scripted = script.webhooks.find((webhook) => webhook.kind === 'call_ended');
  if (scripted === undefined || scripted.payload.type !== 'json') return undefined;
  const full = (JSON.parse(scripted.payload.body) as { call: Record<string, unknown> }).call;
  const identity = Object.fromEntries(
    identityFields.filter((field) => field in full).map((field) => [field, full[field]]),
  );
  const endTimestamp = script.startedAt + atMs;
  const connected = status === 'in-progress' && typeof full.start_timestamp === 'number';
  let ended: Record<string, unknown>;
  let durationMs = 0;
  if (connected) {
    const start = full.start_timestamp as number;
    durationMs = Math.max(1000, endTimestamp - start);
    const seconds = durationMs / 1000;
    const turns = ((full.transcript_object as TranscriptTurn[] | undefined) ?? []).filter(
      (turn) => (turn.words?.[0]?.start ?? 0) < seconds,
    );
    ended = {
      ...full,
      call_status: 'ended',
      end_timestamp: start + durationMs,
      duration_ms: durationMs,
      transcript: turns
        .map((turn) => `${turn.role === 'agent' ? 'Agent' : 'User'}: ${turn.content}\n`)
        .join(''),
      transcript_object: turns,
      disconnection_reason: 'manual_stopped',
      call_cost: retellCallCost(durationMs),
    };
  } else {
    ended = {
      ...identity,
      call_status: 'not_connected',
      end_timestamp: endTimestamp,
      duration_ms: 0,
      disconnection_reason: 'manual_stopped',
      call_cost: retellCallCost(0),
    };
  }
  const send = (at: number, event: string, call: Record<string, unknown>): ScriptedWebhook => ({
    ...scripted,
    atMs: at,
    kind: event,
    payload: { type: 'json', body: JSON.stringify({ event, call }) },
  });
  return {
    webhooks: [
      send(atMs, 'call_ended', ended),
      send(atMs + 3000, 'call_analyzed', {
        ...ended,
        call_analysis: {
          call_summary: connected
            ? 'The call was stopped through the API while the agent was talking.'
            : 'The call was stopped through the API before it connected.',
          in_voicemail: false,
          user_sentiment: 'Unknown',
          call_successful: false,
          custom_analysis_data: {},
        },
      }),
    ],
    status: connected ? 'completed' : 'canceled',
    providerStatus: 'manual_stopped',
    talkDurationMs: durationMs,
    endedAtMs: atMs,
  };
}

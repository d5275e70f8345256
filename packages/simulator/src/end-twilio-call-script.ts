import type { CallScript, ScriptedWebhook } from './call-script';
import { formatTwilioTimestamp } from './format-twilio-timestamp';
import type { ScriptedCallEnding } from './scripted-call-ending';
import { scriptedCallStatusAt, scriptedCallTimeline } from './scripted-call-timeline';

/** Fields of one status callback that the hang-up's own callback replaces. */
const perCallbackFields = [
  'Timestamp',
  'SequenceNumber',
  'CallStatus',
  'SipResponseCode',
  'Duration',
  'CallDuration',
  'AnsweredBy',
];

/**
 * What Twilio sends when a call is hung up through its API at `atMs` (`Status=completed`):
 * a connected call ends `completed` with the talk time so far (and its recording callback, when
 * the call is recorded); one still queued or ringing ends `canceled` (SIP 487). Returns
 * undefined when the call had already ended by then. The webhooks keep the URLs of the
 * script's own callbacks.
 *
 * @internal
 */
export function endTwilioCallScript(
  script: CallScript,
  atMs: number,
): ScriptedCallEnding | undefined {
  const timeline = scriptedCallTimeline(script);
  const status = scriptedCallStatusAt(timeline, atMs);
  if (status !== 'queued' && status !== 'ringing' && status !== 'in-progress') return undefined;
  const statusCallbacks = script.webhooks.filter((webhook) => webhook.kind.startsWith('status:'));
  const first = statusCallbacks[0];
  if (first === undefined || first.payload.type !== 'form') return undefined;
  const common: Record<string, string> = { ...first.payload.params };
  for (const field of perCallbackFields) delete common[field];

  const answered = status === 'in-progress';
  const talkSeconds = answered
    ? Math.max(1, Math.round((atMs - (timeline.answeredAtMs ?? atMs)) / 1000))
    : 0;
  const detection = script.webhooks.find(
    (webhook) => webhook.kind === 'amd' && webhook.atMs <= atMs,
  );
  const answeredBy =
    detection?.payload.type === 'form' ? detection.payload.params.AnsweredBy : undefined;
  const final = answered ? 'completed' : 'canceled';
  const webhooks: ScriptedWebhook[] = [
    {
      ...first,
      atMs,
      kind: `status:${final}`,
      payload: {
        type: 'form',
        params: {
          ...common,
          Timestamp: formatTwilioTimestamp(script.startedAt + atMs),
          // Twilio numbers every progress event, subscribed to or not.
          SequenceNumber: String(statusCallbacks.filter((webhook) => webhook.atMs <= atMs).length),
          CallStatus: final,
          ...(answered ? {} : { SipResponseCode: '487' }),
          Duration: String(Math.ceil(talkSeconds / 60)),
          CallDuration: String(talkSeconds),
          ...(answeredBy === undefined ? {} : { AnsweredBy: answeredBy }),
        },
      },
    },
  ];
  const recording = script.webhooks.find((webhook) => webhook.kind === 'recording');
  if (answered && recording !== undefined && recording.payload.type === 'form') {
    webhooks.push({
      ...recording,
      atMs: atMs + 2000,
      payload: {
        type: 'form',
        params: { ...recording.payload.params, RecordingDuration: String(talkSeconds) },
      },
    });
  }
  return {
    webhooks,
    status: final,
    providerStatus: final,
    talkDurationMs: talkSeconds * 1000,
    endedAtMs: atMs,
  };
}

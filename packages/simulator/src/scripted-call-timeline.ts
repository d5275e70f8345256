import type { CallStatus } from '@calltrack/core';
import type { CallScript } from './call-script';

/**
 * When a scripted call rang, connected and ended, in milliseconds after it started (simulated
 * time), read from its webhooks. @internal
 */
export interface ScriptedCallTimeline {
  /** When the far end started ringing, if the provider reports it. */
  ringingAtMs: number | undefined;
  /** When the call connected; undefined for a call that never did. */
  answeredAtMs: number | undefined;
  /** When the call ended. */
  endedAtMs: number;
  /** The status it ends with. */
  finalStatus: CallStatus;
}

/** Reads a script's timeline (the same for every provider's script shape). @internal */
export function scriptedCallTimeline(script: CallScript): ScriptedCallTimeline {
  const at = (kinds: readonly string[]) =>
    script.webhooks.find((webhook) => kinds.includes(webhook.kind))?.atMs;
  const answeredAtMs =
    script.provider === 'twilio'
      ? at(['status:in-progress'])
      : script.provider === 'retell'
        ? at(['call_started'])
        : at(['live:ANSWER', 'live:Picked']);
  return {
    ringingAtMs:
      script.provider === 'twilio'
        ? at(['status:ringing'])
        : script.provider === 'callerdesk'
          ? at(['live:AgentonRing (0-Agent)'])
          : undefined,
    answeredAtMs,
    endedAtMs: script.endedAt - script.startedAt,
    finalStatus: script.status,
  };
}

/** The normalized status of a scripted call at `atMs` (simulated ms after it started). @internal */
export function scriptedCallStatusAt(timeline: ScriptedCallTimeline, atMs: number): CallStatus {
  if (atMs >= timeline.endedAtMs) return timeline.finalStatus;
  if (timeline.answeredAtMs !== undefined && atMs >= timeline.answeredAtMs) return 'in-progress';
  if (timeline.ringingAtMs !== undefined && atMs >= timeline.ringingAtMs) return 'ringing';
  return 'queued';
}

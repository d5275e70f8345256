import type { CallStatus } from '@calltrack/core';
import type { ScriptedWebhook } from './call-script';

/**
 * How a scripted call ends when it is hung up before its script's end: the webhooks its provider
 * sends instead of the rest of the script, and what the call then is. @internal
 */
export interface ScriptedCallEnding {
  /** The provider's webhooks for the hang-up, in order; `atMs` counts from the call's start. */
  webhooks: ScriptedWebhook[];
  /** The normalized status the call ends with. */
  status: CallStatus;
  /** The provider's own word for the end (Twilio's `CallStatus`, Retell's `disconnection_reason`). */
  providerStatus: string;
  /** Talk time, in milliseconds (0 when the call never connected). */
  talkDurationMs: number;
  /** When the call ended, in milliseconds after it started (simulated time). */
  endedAtMs: number;
}

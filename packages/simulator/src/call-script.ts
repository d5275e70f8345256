import type { CallDirection, CallStatus } from '@calltrack/core';
import type { SimulatedOutcome } from './simulated-outcome';
import type { SimulatorLine } from './simulator-line';
import type { SimulatorProvider } from './simulator-provider';

/**
 * What one webhook carries, in the provider's own encoding (before signing):
 *
 * - `form`: Twilio's `application/x-www-form-urlencoded` parameters;
 * - `json`: Retell's JSON body, as the exact text that is sent and signed;
 * - `fields`: CallerDesk's fields, sent as a JSON body (POST) or a query string (GET).
 */
export type ScriptedPayload =
  | { type: 'form'; params: Readonly<Record<string, string>> }
  | { type: 'json'; body: string }
  | { type: 'fields'; fields: Readonly<Record<string, string>> };

/** One webhook of a {@link CallScript}: when the provider sends it, and what it carries. */
export interface ScriptedWebhook {
  /** The provider that sends it. */
  provider: SimulatorProvider;
  /** When the provider sends it, in milliseconds after the call started (simulated time). */
  atMs: number;
  /**
   * What it is, for logs and tests: Twilio `status:<CallStatus>`, `amd` or `recording`; Retell
   * the event name (`call_started`, `call_ended`, `call_analyzed`); CallerDesk
   * `live:<Status>` or `report`.
   */
  kind: string;
  /** The payload. */
  payload: ScriptedPayload;
  /**
   * Query parameters added to the endpoint URL for this webhook (and covered by Twilio's
   * signature). Twilio's recording and AMD callbacks carry no phone numbers, so their per-call
   * callback URLs name the tenant, as Twilio's docs suggest: `?tenant=<tenantId>`.
   */
  query?: Readonly<Record<string, string>>;
  /**
   * The absolute URL this webhook goes to, when the call named its own: a Twilio call placed
   * through the provider API (`createProviderApi`) with a `StatusCallback` (or an AMD or recording
   * callback URL). Without it, the webhook goes to the provider's endpoint at the simulator's
   * `target`.
   */
  url?: string;
}

/** One simulated call: who called whom, how it ends, and every webhook the provider sends. */
export interface CallScript {
  /** The provider carrying the call. */
  provider: SimulatorProvider;
  /** The provider's call id (Twilio `CallSid`, Retell `call_id`, CallerDesk `CallSid`). */
  callId: string;
  /** The business line the call runs on. */
  line: SimulatorLine;
  /** How the call ends. */
  outcome: SimulatedOutcome;
  /** `inbound` (a customer calls the line) or `outbound` (the line calls a customer). */
  direction: CallDirection;
  /** The caller, E.164. */
  from: string;
  /** The callee, E.164. */
  to: string;
  /** The customer's number, E.164 (`from` on inbound calls, `to` on outbound ones). */
  customerNumber: string;
  /**
   * The normalized status calltrack should end the call with: the outcome itself, except
   * `voicemail`, which every provider reports as a call that connected (`completed`).
   */
  status: CallStatus;
  /**
   * The provider's own word for the end: Twilio's final `CallStatus`, Retell's
   * `disconnection_reason`, CallerDesk's report `Status`.
   */
  providerStatus: string;
  /** Twilio's `AnsweredBy` (`human`, `machine_end_beep`…) when machine detection ran. */
  answeredBy?: string;
  /** Talk time in milliseconds, as the provider reports it (0 when nobody answered). */
  talkDurationMs: number;
  /** When the call started (simulated clock), milliseconds since the epoch. */
  startedAt: number;
  /** When the call ended (simulated clock), milliseconds since the epoch. */
  endedAt: number;
  /** The webhooks in the order the provider sends them. */
  webhooks: ScriptedWebhook[];
}

/** What a provider's script builder needs. @internal */
export interface CallScriptInput {
  line: SimulatorLine;
  outcome: SimulatedOutcome;
  direction: CallDirection | undefined;
  startedAt: number;
  talkDurationMs: number | undefined;
  customerNumber: string | undefined;
  avoidNumbers: readonly string[];
  /**
   * Twilio: run answering-machine detection (default: on most outbound calls, always on
   * voicemail); `true` is `DetectMessageEnd`.
   */
  machineDetection?: boolean | 'Enable' | 'DetectMessageEnd';
  /** Twilio: record the call (default: most answered calls). */
  recording?: boolean;
}

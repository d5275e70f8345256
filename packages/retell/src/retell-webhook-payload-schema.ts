import { z } from 'zod';

const optionalString = z.string().nullish();
const optionalTimestamp = z.number().nullish();

/**
 * The `call` object Retell sends with every voice webhook (retell-typescript-sdk
 * `PhoneCallResponse` / `WebCallResponse`). Lenient on purpose: every field except `call_id` is
 * optional, `null` is accepted where Retell may send it, and unknown fields pass through, so a new
 * Retell field never breaks parsing.
 */
export const retellCallSchema = z.looseObject({
  /** Retell's call id; the only field calltrack cannot do without. */
  call_id: z.string().min(1).max(128),
  /** `phone_call` or `web_call`. */
  call_type: optionalString,
  agent_id: z.string().min(1).max(256).nullish(),
  agent_name: optionalString,
  agent_version: z.number().nullish(),
  /** `registered | not_connected | ongoing | ended | error`. */
  call_status: optionalString,
  /** `inbound | outbound`; phone calls only. */
  direction: optionalString,
  from_number: z.string().max(256).nullish(),
  to_number: z.string().max(256).nullish(),
  /** Milliseconds since the epoch. */
  start_timestamp: optionalTimestamp,
  /** Milliseconds since the epoch. */
  end_timestamp: optionalTimestamp,
  duration_ms: z.number().nullish(),
  transcript: optionalString,
  transcript_object: z
    .array(z.looseObject({ role: optionalString, content: optionalString }))
    .nullish(),
  recording_url: optionalString,
  recording_multi_channel_url: optionalString,
  public_log_url: optionalString,
  disconnection_reason: optionalString,
  transfer_destination: optionalString,
  transfer_option: z.unknown().optional(),
  transfer_end_timestamp: optionalTimestamp,
  metadata: z.unknown().optional(),
  call_analysis: z.record(z.string(), z.unknown()).nullish(),
  call_cost: z.looseObject({ combined_cost: z.number().nullish() }).nullish(),
});

/** A Retell `call` object, as the webhook handler validates it. */
export type RetellCall = z.infer<typeof retellCallSchema>;

/**
 * The envelope of a Retell webhook: `{ "event": "<type>", "call": { … } }`. The deprecated `data`
 * property is accepted in place of `call`. `call` is optional here because events calltrack does
 * not map (`chat_*`, `call_inbound`) carry other objects; `parseRetellWebhookPayload`
 * requires it for the voice events.
 */
export const retellWebhookPayloadSchema = z.looseObject({
  event: z.string().min(1).max(64),
  call: z.unknown().optional(),
  data: z.unknown().optional(),
});

/** The voice call events calltrack maps to `CallEvent`s. */
export const retellCallEventNames = [
  'call_started',
  'call_ended',
  'call_analyzed',
  'transcript_updated',
  'transfer_started',
  'transfer_bridged',
  'transfer_cancelled',
  'transfer_ended',
] as const;

/** One of Retell's call event names. */
export type RetellCallEventName = (typeof retellCallEventNames)[number];

/**
 * A validated Retell webhook. `call` is set for the events in Retell's call event names;
 * for any other event (chat events, future events) it is `undefined` and the payload maps to no
 * `CallEvent`.
 */
export interface RetellWebhookPayload {
  /** The event name as Retell sent it, e.g. `call_ended`. */
  event: string;
  /** The call, for voice call events. */
  call: RetellCall | undefined;
  /** The whole payload as received. */
  body: Record<string, unknown>;
}

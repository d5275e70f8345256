import { z } from 'zod';

/** A field value: CallerDesk sends strings (query and form) or strings and numbers (JSON). */
const text = z
  .union([z.string(), z.number(), z.boolean()])
  .nullish()
  .transform((value) => {
    if (value == null) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' || trimmed.toLowerCase() === 'null' ? undefined : trimmed;
  });

/**
 * The fields of CallerDesk's Live Call and Call Report webhooks (docs.callerdesk.io/sample-payload),
 * plus the extra fields integrators have seen in real deliveries. Every field is optional here and
 * unknown fields pass through; values are trimmed strings, with empty values and `null` removed.
 * Field names are matched case-insensitively and with or without underscores, so `callsid` and
 * `call_sid` both fill `CallSid`.
 */
export const callerDeskWebhookPayloadSchema = z.looseObject({
  /** The caller: the customer, on incoming and click-to-call calls alike. */
  SourceNumber: text,
  /** The virtual number (DID / deskphone) the call ran through. */
  DestinationNumber: text,
  /** The agent number that was dialed / answered. */
  DialWhomNumber: text,
  /** Total call time, seconds. */
  CallDuration: text,
  /** Talk time once answered, seconds. */
  TalkDuration: text,
  coins: text,
  /** e.g. `ANSWER`, `NO ANSWER (0-Agent)`, `Cancel-Customer`. */
  Status: text,
  /** `yyyy-mm-dd hh:mm:ss`, India time. */
  StartTime: text,
  /** `yyyy-mm-dd hh:mm:ss`, India time; call reports only. */
  EndTime: text,
  /** CallerDesk's call id, e.g. `1672649960.960123`. */
  CallSid: text,
  /** Only when the call was answered. */
  CallRecordingUrl: text,
  /** `IVR` (incoming) or `WEBOBD` (click-to-call). */
  Direction: text,
  /** Click-to-call campaign id, as returned by the click-to-call API. */
  campid: text,
  call_group: text,
  receiver_name: text,
  error_code: text,
  LegA_Picked_time: text,
  LegB_Start_time: text,
  LegB_Picked_time: text,
  /** `call_report` on call reports, when sent. */
  type: text,
  Uniqueid: text,
  callstatus: text,
  hangup_cause: text,
  agent_email: text,
  key_press: text,
  account_id: text,
  group_id: text,
});

/** The documented CallerDesk fields, as validated by the webhook payload schema. */
export type CallerDeskWebhookFields = z.infer<typeof callerDeskWebhookPayloadSchema>;

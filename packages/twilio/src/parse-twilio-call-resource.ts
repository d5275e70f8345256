import { z } from 'zod';

const nullableText = z.string().nullish();

const callResourceSchema = z.looseObject({
  sid: z.string().min(1),
  account_sid: nullableText,
  parent_call_sid: nullableText,
  to: nullableText,
  from: nullableText,
  status: nullableText,
  direction: nullableText,
  answered_by: nullableText,
  date_created: nullableText,
  date_updated: nullableText,
  start_time: nullableText,
  end_time: nullableText,
  duration: z.union([z.string(), z.number()]).nullish(),
  price: z.union([z.string(), z.number()]).nullish(),
  price_unit: nullableText,
  api_version: nullableText,
  uri: nullableText,
});

/** A Twilio Call resource, as returned when a call is created or updated (camelCase subset). */
export interface TwilioCall {
  /** The call's SID (`CA…`): the `callId` of its events. */
  sid: string;
  accountSid: string | null;
  parentCallSid: string | null;
  to: string | null;
  from: string | null;
  /** Twilio's `CallStatus` (`queued`, `ringing`, `in-progress`, `completed`, …). */
  status: string | null;
  /** `inbound`, `outbound-api` or `outbound-dial`. */
  direction: string | null;
  answeredBy: string | null;
  /** RFC 2822 dates as Twilio returns them. */
  dateCreated: string | null;
  dateUpdated: string | null;
  startTime: string | null;
  endTime: string | null;
  /** Call length in seconds, once known. */
  durationSeconds: number | null;
  /** Price (negative for charges), as a string to keep Twilio's precision. */
  price: string | null;
  priceUnit: string | null;
  apiVersion: string | null;
  uri: string | null;
}

/**
 * Reads a Call resource JSON body into a {@link TwilioCall}. Returns `undefined` when the body is
 * not a call (no `sid`).
 *
 * @internal
 */
export function parseTwilioCallResource(json: unknown): TwilioCall | undefined {
  const result = callResourceSchema.safeParse(json);
  if (!result.success) return undefined;
  const call = result.data;
  const duration = call.duration == null ? null : Number(call.duration);
  return {
    sid: call.sid,
    accountSid: call.account_sid ?? null,
    parentCallSid: call.parent_call_sid ?? null,
    to: call.to ?? null,
    from: call.from ?? null,
    status: call.status ?? null,
    direction: call.direction ?? null,
    answeredBy: call.answered_by ?? null,
    dateCreated: call.date_created ?? null,
    dateUpdated: call.date_updated ?? null,
    startTime: call.start_time ?? null,
    endTime: call.end_time ?? null,
    durationSeconds: duration !== null && Number.isFinite(duration) ? duration : null,
    price: call.price == null ? null : String(call.price),
    priceUnit: call.price_unit ?? null,
    apiVersion: call.api_version ?? null,
    uri: call.uri ?? null,
  };
}

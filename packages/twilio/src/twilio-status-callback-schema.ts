import { z } from 'zod';
import { twilioSidSchema } from './twilio-sid-schema';

const text = z.string().optional();

/**
 * A call status callback (`StatusCallback`) or voice request as Twilio posts it. Lenient: only
 * `CallSid` and `CallStatus` are required, every other documented field is an optional string,
 * and undocumented fields pass through.
 */
export const twilioStatusCallbackSchema = z.looseObject({
  CallSid: twilioSidSchema,
  CallStatus: z.string().min(1),
  AccountSid: text,
  From: text,
  To: text,
  Caller: text,
  Called: text,
  Direction: text,
  ParentCallSid: text,
  ForwardedFrom: text,
  ApiVersion: text,
  /** Always `call-progress-events` on status callbacks. */
  CallbackSource: text,
  /** 0-based order of the status callbacks of one call. */
  SequenceNumber: text,
  /** RFC 2822, e.g. `Sun, 25 Mar 2018 09:53:19 +0000`. */
  Timestamp: text,
  /** Talk time in seconds (terminal events). */
  CallDuration: text,
  /** Billed minutes, rounded up. */
  Duration: text,
  SipResponseCode: text,
  AnsweredBy: text,
  RecordingSid: text,
  RecordingUrl: text,
  RecordingDuration: text,
});

/** A parsed {@link twilioStatusCallbackSchema}. */
export type TwilioStatusCallback = z.infer<typeof twilioStatusCallbackSchema>;

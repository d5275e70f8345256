import { z } from 'zod';
import { twilioSidSchema } from './twilio-sid-schema';

const text = z.string().optional();

/**
 * A recording status callback (`RecordingStatusCallback`). Lenient: `CallSid` and `RecordingSid`
 * are required, the rest optional; undocumented fields pass through.
 */
export const twilioRecordingStatusCallbackSchema = z.looseObject({
  CallSid: twilioSidSchema,
  RecordingSid: twilioSidSchema,
  AccountSid: text,
  /** `in-progress`, `completed`, `absent` or `failed`; Twilio's default subscription is `completed`. */
  RecordingStatus: text,
  /** Without extension: append `.mp3` or `.wav` to download (with Basic auth). */
  RecordingUrl: text,
  /** Seconds. */
  RecordingDuration: text,
  RecordingChannels: text,
  RecordingStartTime: text,
  RecordingSource: text,
  RecordingTrack: text,
  ConferenceSid: text,
  ErrorCode: text,
  Timestamp: text,
});

/** A parsed {@link twilioRecordingStatusCallbackSchema}. */
export type TwilioRecordingStatusCallback = z.infer<typeof twilioRecordingStatusCallbackSchema>;

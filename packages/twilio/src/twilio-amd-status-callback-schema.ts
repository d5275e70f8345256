import { z } from 'zod';
import { twilioSidSchema } from './twilio-sid-schema';

const text = z.string().optional();

/**
 * An asynchronous answering-machine-detection callback (`AsyncAmdStatusCallback`): `CallSid` and
 * `AnsweredBy` are required; undocumented fields pass through.
 */
export const twilioAmdStatusCallbackSchema = z.looseObject({
  CallSid: twilioSidSchema,
  /** `human`, `machine_start`, `machine_end_beep`, `machine_end_silence`, `machine_end_other`, `fax` or `unknown`. */
  AnsweredBy: z.string().min(1),
  AccountSid: text,
  /** Milliseconds the detection took. */
  MachineDetectionDuration: text,
  Timestamp: text,
});

/** A parsed {@link twilioAmdStatusCallbackSchema}. */
export type TwilioAmdStatusCallback = z.infer<typeof twilioAmdStatusCallbackSchema>;

import { z } from 'zod';

/**
 * A Twilio SID as it appears in webhooks (`CA…`, `RE…`, `AC…`): letters, digits, `_` and `-`, up
 * to 64 characters. Deliberately looser than Twilio's own `XX` + 32 hex format so test traffic
 * and future SID formats pass, but strict enough to be safe inside event ids and URL paths.
 */
export const twilioSidSchema = z
  .string()
  .regex(twilioSidPattern(), 'must be a Twilio SID (1-64 letters, digits, "_" or "-")');

/** The pattern {@link twilioSidSchema} checks, for code that checks a SID without zod. @internal */
export function twilioSidPattern(): RegExp {
  return /^[A-Za-z0-9_-]{1,64}$/;
}

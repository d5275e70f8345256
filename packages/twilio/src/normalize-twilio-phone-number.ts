/** A `+` and 7 to 15 digits, the first not 0: E.164 as written. */
const e164 = /^\+[1-9]\d{6,14}$/;

/**
 * Normalizes a `From` / `To` value of a Twilio webhook: a phone number becomes E.164
 * (`+14155550100`; spaces, dots, dashes and brackets removed) when it carries a `+` and 7 to 15
 * digits; anything else (`client:alice`, `sip:bob@example.com`, `Anonymous`, a short code) is kept
 * as Twilio sent it, trimmed. Empty or over-long values (more than 256 characters) give
 * `undefined`.
 */
export function normalizeTwilioPhoneNumber(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > 256) return undefined;
  // E.164 already (what Twilio sends): nothing to take out.
  if (e164.test(trimmed)) return trimmed;
  if (/^\+[\d\s().-]+$/.test(trimmed)) {
    const digits = trimmed.replace(/\D/g, '');
    if (digits.length >= 7 && digits.length <= 15 && digits[0] !== '0') return `+${digits}`;
  }
  return trimmed;
}

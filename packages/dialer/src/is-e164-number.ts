const e164 = /^\+[1-9]\d{7,14}$/;

/**
 * True for a phone number in E.164 (`+14155550100`: a plus, then 8 to 15 digits, the first not
 * 0): the only numbers the dialer dials, so the only ones a do-not-call list can match.
 */
export function isE164Number(value: unknown): value is string {
  return typeof value === 'string' && e164.test(value);
}

/**
 * Normalizes a number from a Retell call object. Retell already sends E.164 (`+14155550100`),
 * so this only trims and strips formatting (spaces, dots, dashes, brackets) from number-like
 * values; anything else (a SIP URI) is kept as sent. Empty values give `undefined`.
 */
export function normalizeRetellPhoneNumber(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\+?[\d\s().-]*$/.test(trimmed)) {
    const digits = trimmed.replace(/\D/g, '');
    if (digits === '') return undefined;
    return trimmed.startsWith('+') ? `+${digits}` : digits;
  }
  return trimmed;
}

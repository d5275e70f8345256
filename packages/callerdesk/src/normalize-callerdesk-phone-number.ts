/**
 * Normalizes an Indian number as CallerDesk sends it to E.164: bare 10 digits
 * (`9876543210`), a trunk `0` (`09876543210`, `08047112233`), `91…`, `091…` or `0091…` all
 * become `+91…`; a number with a `+` keeps its country code. Spaces, dashes, dots and brackets
 * are ignored. Anything else (short codes, toll-free `1800…`, masked `99xxxxx`) is returned
 * trimmed, as sent; empty values give `undefined`.
 *
 * @example normalizeCallerDeskPhoneNumber('08047112233') // '+918047112233'
 */
export function normalizeCallerDeskPhoneNumber(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) {
    return normalizeCallerDeskPhoneNumber(String(value));
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (!/^\+?[\d\s().-]*$/.test(trimmed)) return trimmed;
  const digits = trimmed.replace(/\D/g, '');
  if (digits === '') return undefined;
  if (trimmed.startsWith('+')) {
    return digits.length >= 8 && digits.length <= 15 && !digits.startsWith('0')
      ? `+${digits}`
      : trimmed;
  }
  if (digits.length === 10 && !digits.startsWith('0')) return `+91${digits}`;
  if (digits.length === 11 && digits.startsWith('0') && digits[1] !== '0') {
    return `+91${digits.slice(1)}`;
  }
  if (digits.length === 12 && digits.startsWith('91')) return `+${digits}`;
  if (digits.length === 13 && digits.startsWith('091')) return `+${digits.slice(1)}`;
  if (digits.length === 14 && digits.startsWith('0091')) return `+${digits.slice(2)}`;
  return trimmed;
}

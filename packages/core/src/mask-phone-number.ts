/**
 * Masks a phone number (or SIP / client address) for logs: keeps a leading `+`, the first two
 * digits (country code) and the last three digits, and replaces every other digit with `*`.
 * Numbers with fewer than seven digits keep only their last two digits. Length is preserved.
 *
 * @example maskPhoneNumber('+14155550123') // '+14******123'
 */
export function maskPhoneNumber(value: string | null | undefined): string {
  if (value == null || value === '') return '';
  const digitCount = value.replace(/\D/g, '').length;
  const keepHead = digitCount >= 7 ? 2 : 0;
  const keepTail = digitCount >= 7 ? 3 : Math.min(2, Math.max(0, digitCount - 1));
  let seen = 0;
  let masked = '';
  for (const character of value) {
    if (character >= '0' && character <= '9') {
      const keep = seen < keepHead || seen >= digitCount - keepTail;
      masked += keep ? character : '*';
      seen += 1;
    } else if (/[a-z]/i.test(character)) {
      // Letters in SIP or client addresses can identify a person too.
      masked += '*';
    } else {
      masked += character;
    }
  }
  return masked;
}

// PostgreSQL's integer input: blanks around an optional sign and decimal digits (15 reads no
// underscores, no hex); its uuid input: 32 hex digits, a hyphen allowed after any group of four,
// the whole optionally in braces.
const integerLimits: Record<string, bigint> = {
  smallint: 2n ** 15n,
  integer: 2n ** 31n,
  bigint: 2n ** 63n,
};
const integerText = /^[ \t\n\r\v\f]*([+-]?[0-9]+)[ \t\n\r\v\f]*$/;
const uuidDigits = '[0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){7}';
const uuidText = new RegExp(`^(?:${uuidDigits}|\\{${uuidDigits}\\})$`);

/**
 * Whether PostgreSQL reads `text` as a value of `type` (as `format_type` spells it), for the
 * types ids are kept in besides text: `smallint`, `integer`, `bigint` and `uuid`. Any other type
 * is left to PostgreSQL (true).
 */
export function fitsPostgresType(text: string, type: string): boolean {
  const limit = integerLimits[type];
  if (limit !== undefined) {
    const digits = integerText.exec(text)?.[1];
    if (digits === undefined) return false;
    const value = BigInt(digits);
    return value >= -limit && value < limit;
  }
  if (type === 'uuid') return uuidText.test(text);
  return true;
}

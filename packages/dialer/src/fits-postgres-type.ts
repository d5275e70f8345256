import { isStorableText } from './is-storable-text';

// What PostgreSQL prints for the types ids are kept in besides text. Only that spelling is
// accepted: PostgreSQL reads `007` and `7` (or a uuid in capitals, in braces) as one value and
// prints it one way, while the dialer matches results, attempts, the do-not-call list and live
// calls by the string — two spellings of one id would be two leads to it and one to PostgreSQL.
const integerLimits: Record<string, bigint> = {
  smallint: 2n ** 15n,
  integer: 2n ** 31n,
  bigint: 2n ** 63n,
};
const integerText = /^(?:0|-?[1-9][0-9]*)$/;
const uuidText = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const numericText = /^-?(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;
const numericType = /^numeric(?:\((\d+)(?:,(\d+))?\))?$/;
const lengthType = /^(?:character varying|character)\((\d+)\)$/;
/** Blank-padded types: trailing spaces mean nothing to them (`ab ` is `ab`), and read as text, go. */
const blankPaddedType = /^(?:character\(\d+\)|bpchar)$/;

/**
 * Whether `text` is a value of `type` (as `format_type` spells it, with its modifier) written as
 * PostgreSQL prints it: `smallint`, `integer`, `bigint` (`-?(0|[1-9]\d*)` in range), `uuid`
 * (lowercase 8-4-4-4-12), `numeric` (its scale's digits; unconstrained, no trailing zero), and
 * no longer than a `character varying(n)` or `character(n)` (PostgreSQL would cut it on a cast),
 * and no trailing space in a `character(n)` or `bpchar` (which reads `ab ` as `ab` and prints it
 * so as text). No value of any type holds a NUL or a lone surrogate; other types are left to
 * PostgreSQL.
 */
export function fitsPostgresType(text: string, type: string): boolean {
  if (!isStorableText(text)) return false;
  const limit = integerLimits[type];
  if (limit !== undefined) {
    if (!integerText.test(text)) return false;
    const value = BigInt(text);
    return value >= -limit && value < limit;
  }
  if (type === 'uuid') return uuidText.test(text);
  if (blankPaddedType.test(type) && text.endsWith(' ')) return false;
  const length = lengthType.exec(type);
  if (length) return [...text].length <= Number(length[1]);
  const numeric = numericType.exec(type);
  if (numeric) {
    // NaN fits any numeric; infinities only an unconstrained one.
    if (text === 'NaN') return true;
    if (text === 'Infinity' || text === '-Infinity') return numeric[1] === undefined;
    const parts = numericText.exec(text);
    if (!parts) return false;
    const [, whole = '', fraction = ''] = parts;
    if (/^-0(?:\.0*)?$/.test(text)) return false; // PostgreSQL prints -0 as 0
    if (numeric[1] === undefined) return !fraction.endsWith('0');
    const scale = Number(numeric[2] ?? 0);
    const wholeDigits = whole === '0' ? 0 : whole.length;
    return fraction.length === scale && wholeDigits <= Number(numeric[1]) - scale;
  }
  return true;
}

/** How PostgreSQL prints a value of `type`, for a refusal's message; undefined for text types. */
export function postgresSpelling(type: string): string | undefined {
  if (integerLimits[type] !== undefined) return 'digits, no leading zero or plus sign';
  if (type === 'uuid') return 'lowercase 8-4-4-4-12 hex digits';
  if (numericType.test(type)) return 'digits, no leading zero or plus sign, the scale’s decimals';
  if (blankPaddedType.test(type)) return 'without trailing spaces';
  return undefined;
}

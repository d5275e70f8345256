import { maskPhoneNumber } from '@calltrack/core';

const phoneKeys = new Set(['from', 'to', 'phone', 'phoneNumber', 'caller', 'callee']);
/**
 * Something that looks like a phone number inside free text: digits with separators, not glued
 * to letters (so ids like `CA0123456789abcdef` stay readable); masked when it holds 7+ digits and
 * is not a date.
 */
const phoneLike = /(?<![\w+])\+?\d[\d\s().-]{5,}\d(?![\w])/g;

/**
 * Copies a log context with personal data masked: `from`, `to` and other phone fields with
 * `maskPhoneNumber`, phone-number-like runs inside any other string too (error messages can
 * quote a number). Errors become `{ name, message, code }`.
 */
export function maskLogContext(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.replace(phoneLike, (match) =>
      match.replace(/\D/g, '').length < 7 || /^\d{4}-\d{2}-\d{2}/.test(match)
        ? match
        : maskPhoneNumber(match),
    );
  }
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: maskLogContext(value.message, depth + 1),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((item) => maskLogContext(item, depth + 1));
  const masked: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    masked[key] =
      phoneKeys.has(key) && typeof item === 'string'
        ? maskPhoneNumber(item)
        : maskLogContext(item, depth + 1);
  }
  return masked;
}

import { parseFormPairs } from './parse-form-pairs';

/**
 * Parses an `application/x-www-form-urlencoded` body (or a query string) into a plain record.
 * A repeated key keeps its first value; use `URLSearchParams` directly where every pair matters.
 */
export function parseFormBody(text: string): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [key, value] of parseFormPairs(text)) {
    if (Object.hasOwn(record, key)) continue;
    // defineProperty, so a key named `__proto__` becomes data instead of changing the prototype.
    Object.defineProperty(record, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return record;
}

import { InvalidPayloadError } from '@calltrack/core';

/** The id fields (`CallSid`, `Uniqueid`), as field names match: case and separators ignored. */
const idFieldKeys = new Set(['callsid', 'uniqueid']);

/** A JSON number, as the JSON grammar writes one. */
const jsonNumber = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * Parses the JSON body of a CallerDesk webhook. A `CallSid` (or `Uniqueid`) sent as a number
 * becomes the text it was written as: `JSON.parse` reads `1672649960.960` as the number
 * `1672649960.96`, and the call id would lose a digit (and differ from the same call's id in a
 * query string). Throws `InvalidPayloadError` (400) for text that is not JSON.
 * @internal
 */
export function parseCallerDeskJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidPayloadError({
      message: 'Invalid CallerDesk webhook: the body is not valid JSON.',
      cause: error,
    });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  const numericIds = Object.keys(record).filter(
    (name) => typeof record[name] === 'number' && idFieldKeys.has(keyOf(name)),
  );
  if (numericIds.length === 0) return record;
  const literals = topLevelNumberTexts(text);
  for (const name of numericIds) {
    const literal = literals.get(name);
    // The text of the very number JSON.parse read, or the number is left as it is.
    if (literal !== undefined && Number(literal) === record[name]) record[name] = literal;
  }
  return record;
}

function keyOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The text of every number that is a field of the top-level object of `text`, by field name (a
 * repeated name: its last, as `JSON.parse` keeps). One pass over text that `JSON.parse` accepted,
 * following strings (and their escapes) and nesting, so a look-alike inside a string or a nested
 * object is not taken for the field.
 */
function topLevelNumberTexts(text: string): Map<string, string> {
  const texts = new Map<string, string>();
  let depth = 0;
  let expectingName = false;
  let name: string | undefined;
  for (let index = 0; index < text.length; index += 1) {
    const character = text.charAt(index);
    if (character === '"') {
      let end = index + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectingName) {
        name = JSON.parse(text.slice(index, end + 1)) as string;
        expectingName = false;
      }
      index = end;
    } else if (character === '{' || character === '[') {
      depth += 1;
      if (depth === 1) expectingName = character === '{';
    } else if (character === '}' || character === ']') {
      depth -= 1;
    } else if (depth === 1 && character === ',') {
      expectingName = true;
      name = undefined;
    } else if (depth === 1 && name !== undefined && (character === '-' || isDigit(character))) {
      jsonNumber.lastIndex = index;
      const literal = jsonNumber.exec(text)?.[0] ?? character;
      texts.set(name, literal);
      index += literal.length - 1;
    }
  }
  return texts;
}

function isDigit(character: string): boolean {
  return character >= '0' && character <= '9';
}

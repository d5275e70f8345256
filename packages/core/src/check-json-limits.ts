/** Limits on a free-form JSON value (`metadata`, `analysis`, `raw`…). */
export interface JsonLimits {
  /**
   * Deepest nesting of objects and arrays below the value: `{}` and `[]` are depth 1,
   * `{ a: { b: 1 } }` depth 2, a string or a number depth 0.
   */
  maxDepth: number;
  /**
   * Most characters its JSON text may take. Counted in UTF-16 code units (JavaScript string
   * length), so a text of non-ASCII characters may take up to three times as many bytes.
   */
  maxLength: number;
}

/** Why a value is over its {@link JsonLimits}, and where. */
export interface JsonLimitViolation {
  /** `depth` or `length`: over a limit; `unserializable`: `JSON.stringify` would throw. */
  reason: 'depth' | 'length' | 'unserializable';
  /** Path of the offending value below the checked one; empty for the value itself. */
  path: (string | number)[];
  /** A plain sentence, e.g. "nested deeper than 32 levels". */
  message: string;
}

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  /** Its index in its parent array, its key in its parent object; `undefined` at the root. */
  key: string | number | undefined;
  /** For an object: how many of its members have been written so far (a comma before the next). */
  members: number;
}

/**
 * Checks that `value` can be written as JSON within `limits`, without recursion: a value nested
 * 100,000 levels deep (or a cycle, which is nested infinitely deep) is reported, never a stack
 * overflow. The walk stops at the first violation, so its cost is bounded by the limits, not by
 * the value. `toJSON` is honoured as `JSON.stringify` honours it, boxed primitives are unwrapped;
 * functions, symbols and `undefined` are left out of objects and are `null` in arrays. The length
 * is exactly that of the text `JSON.stringify(value)` writes, so a limit holds to the character.
 */
export function checkJsonLimits(
  value: unknown,
  limits: JsonLimits,
): JsonLimitViolation | undefined {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined, members: 0 }];
  let length = 0;
  while (stack.length > 0) {
    const frame = stack.pop()!;
    let current = frame.value;
    if (
      current !== null &&
      typeof current === 'object' &&
      typeof (current as { toJSON?: unknown }).toJSON === 'function'
    ) {
      try {
        current = (current as { toJSON: () => unknown }).toJSON();
      } catch {
        return violation(frame, 'unserializable', 'has a toJSON() that throws');
      }
    }
    // JSON writes a boxed primitive (`new String('a')`) as the primitive.
    if (current instanceof Number || current instanceof String || current instanceof Boolean) {
      current = current.valueOf();
    }
    length += separatorLength(frame, current);
    switch (typeof current) {
      case 'string':
        length += jsonStringLength(current);
        break;
      case 'number':
        length += Number.isFinite(current) ? String(current).length : 4;
        break;
      case 'boolean':
        length += current ? 4 : 5;
        break;
      case 'bigint':
        return violation(frame, 'unserializable', 'is a BigInt, which JSON cannot hold');
      case 'undefined':
      case 'function':
      case 'symbol':
        // "null" inside an array; left out of an object, and nothing at all at the root.
        if (typeof frame.key === 'number') length += 4;
        break;
      default: {
        if (current === null) {
          length += 4;
          break;
        }
        const depth = frame.depth + 1;
        if (depth > limits.maxDepth) {
          return violation(frame, 'depth', `is nested deeper than ${limits.maxDepth} levels`);
        }
        length += 2;
        if (Array.isArray(current)) {
          for (let index = current.length - 1; index >= 0; index -= 1) {
            stack.push({ value: current[index], depth, parent: frame, key: index, members: 0 });
          }
        } else {
          const keys = Object.keys(current as object);
          for (let index = keys.length - 1; index >= 0; index -= 1) {
            const key = keys[index]!;
            stack.push({
              value: (current as Record<string, unknown>)[key],
              depth,
              parent: frame,
              key,
              members: 0,
            });
          }
        }
      }
    }
    if (length > limits.maxLength) {
      return violation(frame, 'length', `is longer than ${limits.maxLength} characters as JSON`);
    }
  }
  return undefined;
}

/**
 * What JSON writes before a value inside its parent: a comma after the first item of an array;
 * for an object member that is written (not `undefined`, a function or a symbol), its key and
 * colon, after a comma when a member came before it. The walk is depth first in key order, so the
 * parent's count of written members is complete for everything before this one.
 */
function separatorLength(frame: Frame, value: unknown): number {
  const { parent, key } = frame;
  if (parent === undefined || key === undefined) return 0;
  if (typeof key === 'number') return key > 0 ? 1 : 0;
  if (isLeftOut(value)) return 0;
  parent.members += 1;
  return (parent.members > 1 ? 1 : 0) + jsonStringLength(key) + 1;
}

/** What JSON.stringify leaves out of an object (and writes as `null` in an array). */
export function isLeftOut(value: unknown): boolean {
  return typeof value === 'undefined' || typeof value === 'function' || typeof value === 'symbol';
}

/** What JSON.stringify escapes: quotes, backslashes, control characters and lone surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const escaped = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The length of `text` as a JSON string: its quotes and its escapes (`\n` is 2, `\u0001` 6). */
export function jsonStringLength(text: string): number {
  if (!escaped.test(text)) return text.length + 2;
  let length = 2;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code === 0x22 || code === 0x5c) {
      length += 2;
    } else if (code < 0x20) {
      // \b \t \n \f \r have short forms; the other control characters are \u00XX.
      length += code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 2 : 6;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const paired =
        code <= 0xdbff &&
        index + 1 < text.length &&
        (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00;
      // A pair is written as it is; a lone surrogate as \uDXXX.
      if (paired) index += 1;
      length += paired ? 2 : 6;
    } else {
      length += 1;
    }
  }
  return length;
}

function violation(
  frame: Frame,
  reason: JsonLimitViolation['reason'],
  message: string,
): JsonLimitViolation {
  const path: (string | number)[] = [];
  // A length violation is reported where the running total crossed the limit: report the
  // checked value itself, which is what is too long.
  let node: Frame | undefined = reason === 'length' ? undefined : frame;
  while (node?.key !== undefined) {
    path.unshift(node.key);
    node = node.parent;
  }
  return { reason, path, message };
}

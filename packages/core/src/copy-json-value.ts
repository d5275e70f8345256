import { type JsonLimits, type JsonLimitViolation, jsonStringLength } from './check-json-limits';

/** What {@link copyJsonValue} made of a value. */
export type JsonValueCopy =
  | { value: unknown; violation?: undefined }
  | { value?: undefined; violation: JsonLimitViolation };

/**
 * A deeply frozen copy of `value` as JSON would carry it, within `limits`: the copy
 * `JSON.parse(JSON.stringify(value))` would make, without writing the text. Every property is
 * read once (a getter runs once, its value is copied), `toJSON` is called once where
 * `JSON.stringify` would call it (a `Date` becomes its ISO text), boxed primitives are unwrapped,
 * `undefined`, functions and symbols are left out of objects and become `null` in arrays, as do
 * numbers that are not finite; anything else (a class instance, a `Map`, a typed array) becomes
 * a plain object of its own enumerable properties. So nothing in the copy can change or run code
 * once it is made: what the sealed event is, is what every transport writes.
 *
 * Depth and length are counted as `checkJsonLimits` counts them, and a value over them (or a
 * cycle, which is nested infinitely deep, or a BigInt, or a `toJSON` that throws) is reported
 * with the same violation, never a stack overflow: the walk goes at most `maxDepth` levels deep
 * and stops at the first violation.
 * @internal
 */
export function copyJsonValue(value: unknown, limits: JsonLimits): JsonValueCopy {
  const state: CopyState = { length: 0, limits, parent: undefined, key: undefined };
  try {
    return { value: copy(value, 0, undefined, state) };
  } catch (error) {
    if (error instanceof Violation) return { violation: error.violation };
    // A getter or a proxy trap threw: the value cannot be written as JSON either.
    const path = pathOf(state.parent);
    if (state.key !== undefined) path.push(state.key);
    return { violation: { reason: 'unserializable', path, message: 'cannot be read' } };
  }
}

class Violation {
  constructor(readonly violation: JsonLimitViolation) {}
}

/** Where in the value the walk is: a chain of keys, made only for objects and arrays. */
interface Place {
  parent: Place | undefined;
  key: string | number;
}

interface CopyState {
  length: number;
  limits: JsonLimits;
  /** The property being read (for a getter that throws): its parent's place and its key. */
  parent: Place | undefined;
  key: string | number | undefined;
}

function placeOf(parent: Place | undefined, key: string | number | undefined): Place | undefined {
  return key === undefined ? parent : { parent, key };
}

function pathOf(place: Place | undefined): (string | number)[] {
  const path: (string | number)[] = [];
  for (let node = place; node !== undefined; node = node.parent) path.unshift(node.key);
  return path;
}

function fail(
  reason: JsonLimitViolation['reason'],
  message: string,
  place: Place | undefined,
): never {
  // A length violation is reported where the running total crossed the limit: report the
  // checked value itself, which is what is too long (as checkJsonLimits does).
  throw new Violation({ reason, path: reason === 'length' ? [] : pathOf(place), message });
}

function count(state: CopyState, characters: number): void {
  state.length += characters;
  if (state.length > state.limits.maxLength) {
    fail('length', `is longer than ${state.limits.maxLength} characters as JSON`, undefined);
  }
}

/**
 * The copy of the value under `key` of the object at `parent` (the root: neither); `undefined`
 * for what JSON leaves out. A place is made only for objects and for violations.
 */
function copy(
  input: unknown,
  depth: number,
  parent: Place | undefined,
  state: CopyState,
  key?: string | number,
): unknown {
  let value = input;
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
      try {
        value = (value as { toJSON: () => unknown }).toJSON();
      } catch {
        fail('unserializable', 'has a toJSON() that throws', placeOf(parent, key));
      }
    }
    if (value instanceof Number || value instanceof String || value instanceof Boolean) {
      value = value.valueOf();
    }
  }
  switch (typeof value) {
    case 'string':
      count(state, jsonStringLength(value));
      return value;
    case 'number':
      if (!Number.isFinite(value)) {
        count(state, 4);
        return null;
      }
      count(state, String(value).length);
      return value === 0 ? 0 : value; // -0 is written as 0
    case 'boolean':
      count(state, value ? 4 : 5);
      return value;
    case 'bigint':
      return fail('unserializable', 'is a BigInt, which JSON cannot hold', placeOf(parent, key));
    case 'undefined':
    case 'function':
    case 'symbol':
      // "null" inside an array; left out of an object, and nothing at all at the root.
      if (typeof key === 'number') count(state, 4);
      return undefined;
    default: {
      if (value === null) {
        count(state, 4);
        return null;
      }
      const level = depth + 1;
      const place = placeOf(parent, key);
      if (level > state.limits.maxDepth) {
        fail('depth', `is nested deeper than ${state.limits.maxDepth} levels`, place);
      }
      count(state, 2);
      if (Array.isArray(value)) {
        const items: unknown[] = new Array(value.length);
        for (let index = 0; index < value.length; index += 1) {
          if (index > 0) count(state, 1); // the comma before it
          state.parent = place;
          state.key = index;
          const item = copy(value[index], level, place, state, index);
          items[index] = item === undefined ? null : item;
        }
        return Object.freeze(items);
      }
      const source = value as Record<string, unknown>;
      const object: Record<string, unknown> = {};
      let members = 0;
      for (const key of Object.keys(source)) {
        state.parent = place;
        state.key = key;
        const item = copy(source[key], level, place, state, key);
        if (item === undefined) continue;
        // Its key, colon and the comma before it are written only when its value is.
        count(state, (members > 0 ? 1 : 0) + jsonStringLength(key) + 1);
        members += 1;
        if (key === '__proto__') {
          // An own property, as JSON.parse makes it, not the object's prototype.
          Object.defineProperty(object, key, {
            value: item,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else {
          object[key] = item;
        }
      }
      return Object.freeze(object);
    }
  }
}

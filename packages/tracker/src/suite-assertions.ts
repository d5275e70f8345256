import assert from 'node:assert/strict';

// The conformance suites' comparisons, on node:assert (the suites import no test library).

/** A copy without properties whose value is undefined, every object a plain one. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value === null || typeof value !== 'object') return value;
  // Made with fromEntries: an assignment would drop a "__proto__" key (a branch or tenant id).
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, entry]) =>
      entry === undefined ? [] : [[key, withoutUndefined(entry)]],
    ),
  );
}

/**
 * Deep equality in which a property whose value is undefined counts as absent (as vitest's
 * `toEqual` has it): a store may leave an unknown field out or set it to undefined.
 */
export function assertEqual(actual: unknown, expected: unknown, message?: string): void {
  assert.deepStrictEqual(withoutUndefined(actual), withoutUndefined(expected), message);
}

/**
 * `actual` is an object whose fields named in `expected` are deeply equal to those; its other
 * fields are not looked at.
 */
export function assertFields(
  actual: unknown,
  expected: Readonly<Record<string, unknown>>,
  message?: string,
): void {
  assert.ok(
    typeof actual === 'object' && actual !== null,
    message ?? `${String(actual)} is not an object`,
  );
  const fields = Object.fromEntries(
    Object.keys(expected).map((key) => [key, (actual as Record<string, unknown>)[key]]),
  );
  assertEqual(fields, expected, message);
}

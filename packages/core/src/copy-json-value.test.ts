import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonLimits } from './check-json-limits';
import { copyJsonValue } from './copy-json-value';

const limits = { maxDepth: 6, maxLength: 400 };

/** Deeply frozen, all the way down. */
function isFrozenDeeply(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(isFrozenDeeply);
}

describe('copyJsonValue', () => {
  it('copies what JSON would carry, frozen, and refuses exactly what checkJsonLimits refuses', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withDate: true,
          withBoxedValues: true,
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
          maxDepth: 8,
        }),
        (value) => {
          const copied = copyJsonValue(value, limits);
          const violation = checkJsonLimits(value, limits);
          expect(copied.violation).toEqual(violation);
          if (copied.violation) return;
          const json = JSON.stringify(value);
          expect(copied.value).toEqual(json === undefined ? undefined : JSON.parse(json));
          expect(isFrozenDeeply(copied.value)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('takes a value exactly as long as its limit, and refuses one a character over', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.constantFrom(undefined, () => 1),
        (value, leftOut) => {
          const withLeftOut = { value, leftOut, list: [leftOut, value] };
          const length = JSON.stringify(withLeftOut).length;
          const copied = copyJsonValue(withLeftOut, { maxDepth: 64, maxLength: length });
          expect(copied.violation).toBeUndefined();
          expect(JSON.stringify(copied.value)).toBe(JSON.stringify(withLeftOut));
          expect(
            copyJsonValue(withLeftOut, { maxDepth: 64, maxLength: length - 1 }).violation,
          ).toMatchObject({ reason: 'length' });
        },
      ),
    );
  });

  it('keeps __proto__ as an own key, as JSON.parse does', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    const copied = copyJsonValue(value, limits).value as Record<string, unknown>;
    expect(Object.getPrototypeOf(copied)).toBe(Object.prototype);
    expect(Object.keys(copied)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports a cycle and a value nested 100,000 levels deep without a stack overflow', () => {
    const cycle: Record<string, unknown> = {};
    cycle.next = cycle;
    expect(copyJsonValue(cycle, limits).violation).toMatchObject({ reason: 'depth' });
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level += 1) deep = [deep];
    expect(copyJsonValue(deep, limits).violation).toMatchObject({
      reason: 'depth',
      path: [0, 0, 0, 0, 0, 0],
    });
  });

  it('reports a getter that throws where it is', () => {
    const value = {
      a: {
        get b() {
          throw new Error('no');
        },
      },
    };
    expect(copyJsonValue(value, limits).violation).toEqual({
      reason: 'unserializable',
      path: ['a', 'b'],
      message: 'cannot be read',
    });
    // The next copy starts from a clean path.
    expect(copyJsonValue({ c: 10n }, limits).violation?.path).toEqual(['c']);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CallPosition, compareCallPositions } from './call-position';

/** Few values each, so that equal times, sequences and ids come up often. */
const positionArbitrary: fc.Arbitrary<CallPosition> = fc.record(
  {
    sequence: fc.integer({ min: 0, max: 3 }),
    at: fc.integer({ min: 0, max: 3 }).map((second) => second * 1000),
    eventId: fc.constantFrom('a', 'b', 'c', '\uFF01', '\u{1F600}'),
  },
  { requiredKeys: ['at', 'eventId'] },
);

const sign = (a: CallPosition, b: CallPosition): number => Math.sign(compareCallPositions(a, b));
const same = (a: CallPosition, b: CallPosition): boolean =>
  a.at === b.at && a.sequence === b.sequence && a.eventId === b.eventId;

describe('compareCallPositions', () => {
  it('is a total order: antisymmetric, transitive, and 0 only for the same position', () => {
    fc.assert(
      fc.property(positionArbitrary, positionArbitrary, positionArbitrary, (a, b, c) => {
        expect(sign(a, b) + sign(b, a)).toBe(0);
        expect(sign(a, b) === 0).toBe(same(a, b));
        if (sign(a, b) <= 0 && sign(b, c) <= 0) expect(sign(a, c)).toBeLessThanOrEqual(0);
      }),
      {
        numRuns: 2000,
        examples: [
          // The cycle of the old order: by sequence A < C, by time C < B < A.
          [
            { sequence: 1, at: 10_000, eventId: 'a' },
            { at: 5_000, eventId: 'b' },
            { sequence: 2, at: 0, eventId: 'c' },
          ],
        ],
      },
    );
  });

  it('orders by time, then by sequence at the same time (none first), then by event id', () => {
    expect(sign({ sequence: 2, at: 0, eventId: 'z' }, { sequence: 1, at: 1, eventId: 'a' })).toBe(
      -1,
    );
    expect(sign({ sequence: 1, at: 0, eventId: 'z' }, { sequence: 2, at: 0, eventId: 'a' })).toBe(
      -1,
    );
    expect(sign({ at: 0, eventId: 'z' }, { sequence: 0, at: 0, eventId: 'a' })).toBe(-1);
    expect(sign({ sequence: 1, at: 0, eventId: 'a' }, { sequence: 1, at: 0, eventId: 'b' })).toBe(
      -1,
    );
    expect(sign({ at: 0, eventId: '\uFF01' }, { at: 0, eventId: '\u{1F600}' })).toBe(-1);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRandom } from './random';

describe('createRandom', () => {
  it('repeats its draws for a seed and differs between seeds', () => {
    const draws = (seed: number) => {
      const random = createRandom(seed);
      return [
        random.next(),
        random.uint32(),
        random.hex(8),
        random.alphanumeric(8),
        random.digits(4),
      ];
    };
    expect(draws(1)).toEqual(draws(1));
    expect(draws(1)).not.toEqual(draws(2));
  });

  it('stays in range', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 50 }),
        (seed, min, span) => {
          const random = createRandom(seed);
          const value = random.next();
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThan(1);
          const integer = random.int(min, min + span);
          expect(Number.isInteger(integer)).toBe(true);
          expect(integer).toBeGreaterThanOrEqual(min);
          expect(integer).toBeLessThanOrEqual(min + span);
          expect(random.hex(32)).toMatch(/^[0-9a-f]{32}$/);
          expect(random.exponential(10)).toBeGreaterThanOrEqual(0);
          expect(random.logNormal(100, 0.5)).toBeGreaterThan(0);
        },
      ),
    );
  });

  it('draws by weight and never a key of weight 0', () => {
    const random = createRandom(7);
    const counts = { a: 0, b: 0, c: 0 };
    for (let index = 0; index < 10_000; index += 1)
      counts[random.weighted({ a: 3, b: 1, c: 0 })!] += 1;
    expect(counts.c).toBe(0);
    expect(counts.a / counts.b).toBeGreaterThan(2.5);
    expect(counts.a / counts.b).toBeLessThan(3.5);
    expect(random.weighted({ a: 0 })).toBeUndefined();
  });

  it('chance(0) is never and chance(1) always', () => {
    const random = createRandom(3);
    for (let index = 0; index < 1000; index += 1) {
      expect(random.chance(0)).toBe(false);
      expect(random.chance(1)).toBe(true);
    }
  });
});

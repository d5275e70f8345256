import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timingSafeEqual } from './timing-safe-equal';

describe('timingSafeEqual', () => {
  it('agrees with === on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(timingSafeEqual(a, b)).toBe(a === b);
        expect(timingSafeEqual(a, a)).toBe(true);
      }),
    );
  });

  it('tells apart strings where one is a prefix of the other', () => {
    expect(timingSafeEqual('secret', 'secret2')).toBe(false);
    expect(timingSafeEqual('', 'a')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
  });
});

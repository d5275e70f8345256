import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskPhoneNumber } from './mask-phone-number';

describe('maskPhoneNumber', () => {
  it.each([
    ['+14155550123', '+14******123'],
    ['+919876543210', '+91*******210'],
    ['09876543210', '09******210'],
    ['5551', '**51'],
    ['', ''],
    [undefined, ''],
    ['client:alice', '******:*****'],
  ])('masks %s as %s', (input, expected) => {
    expect(maskPhoneNumber(input)).toBe(expected);
  });

  it('keeps the length and never reveals the middle digits of a full number', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\+[1-9][0-9]{9,14}$/), (number) => {
        const masked = maskPhoneNumber(number);
        expect(masked).toHaveLength(number.length);
        expect(masked.slice(3, -3)).toMatch(/^\*+$/);
      }),
    );
  });
});

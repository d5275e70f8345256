import { describe, expect, it } from 'vitest';
import { parseFormBody } from './parse-form-body';

describe('parseFormBody', () => {
  it('decodes percent-escapes and plus signs and keeps the first of repeated keys', () => {
    expect(parseFormBody('To=%2B14155550100&Caller=a+b&Digits=1&Digits=2')).toEqual({
      To: '+14155550100',
      Caller: 'a b',
      Digits: '1',
    });
  });

  it('does not let a key named __proto__ touch the prototype', () => {
    const parsed = parseFormBody('__proto__=x&constructor=y');
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(parsed.constructor).toBe('y');
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('x');
  });
});

import { describe, expect, it } from 'vitest';
import { isSecretList, someSecret } from './some-secret';

describe('someSecret', () => {
  const is = (expected: string) => (secret: string) => secret === expected;

  it('passes when the check passes for the secret, or for any secret of a list', () => {
    expect(someSecret('a', is('a'))).toBe(true);
    expect(someSecret(['old', 'new'], is('new'))).toBe(true);
    expect(someSecret(['old', 'new'], is('other'))).toBe(false);
  });

  it('never passes for a missing, empty or non-string secret', () => {
    const always = () => true;
    for (const secrets of [undefined, null, '', [], [''], [42]]) {
      expect(someSecret(secrets as never, always)).toBe(false);
    }
  });

  it('checks every secret of a list, also after a match', () => {
    const checked: string[] = [];
    someSecret(['a', 'b', 'c'], (secret) => {
      checked.push(secret);
      return secret === 'a';
    });
    expect(checked).toEqual(['a', 'b', 'c']);
  });
});

describe('isSecretList', () => {
  it('accepts a non-empty string or a non-empty list of them', () => {
    expect(isSecretList('a')).toBe(true);
    expect(isSecretList(['a', 'b'])).toBe(true);
    for (const value of ['', [], ['a', ''], [1], undefined, {}])
      expect(isSecretList(value)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { AmbiguousCredentialsError } from './errors/ambiguous-credentials-error';
import { singleCredential } from './single-credential';

describe('singleCredential', () => {
  it('returns the one value, trimmed; the same value twice is one value', () => {
    expect(singleCredential([' GOOD '], 'the token')).toBe('GOOD');
    expect(singleCredential(['GOOD', 'GOOD'], 'the token')).toBe('GOOD');
    expect(singleCredential(['', ' ', 'GOOD'], 'the token')).toBe('GOOD');
  });

  it('returns undefined when there is none', () => {
    expect(singleCredential([], 'the token')).toBeUndefined();
    expect(singleCredential(['  '], 'the token')).toBeUndefined();
  });

  it('throws a 400 naming the credential for two different values', () => {
    const error = (() => {
      try {
        singleCredential(['GOOD', 'wrong'], 'the token parameter');
      } catch (caught) {
        return caught;
      }
    })();
    expect(AmbiguousCredentialsError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      status: 400,
      code: 'ambiguous_credentials',
      message: 'The request carries the token parameter more than once, with different values.',
    });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyCallerDeskToken } from './verify-callerdesk-token';

const token = 'cd_9f8e7d6c5b4a39281706f5e4';

describe('verifyCallerDeskToken', () => {
  it('accepts the configured token', () => {
    expect(verifyCallerDeskToken({ expected: token, provided: token })).toBe(true);
  });

  it('accepts any of several tokens during a rotation', () => {
    const expected = ['cd_old_token_0000000000', token];
    expect(verifyCallerDeskToken({ expected, provided: token })).toBe(true);
    expect(verifyCallerDeskToken({ expected, provided: 'cd_old_token_0000000000' })).toBe(true);
    expect(verifyCallerDeskToken({ expected, provided: 'cd_other' })).toBe(false);
  });

  it.each([
    ['a wrong token', 'cd_9f8e7d6c5b4a39281706f5e5'],
    ['a prefix', token.slice(0, -1)],
    ['a longer token', `${token}0`],
    ['another case', token.toUpperCase()],
    ['an empty token', ''],
    ['no token', undefined],
    ['null', null],
  ])('refuses %s', (_name, provided) => {
    expect(verifyCallerDeskToken({ expected: token, provided })).toBe(false);
  });

  it('never accepts when nothing usable is expected', () => {
    expect(verifyCallerDeskToken({ expected: '', provided: '' })).toBe(false);
    expect(verifyCallerDeskToken({ expected: [], provided: token })).toBe(false);
    expect(verifyCallerDeskToken({ expected: [''], provided: '' })).toBe(false);
    expect(verifyCallerDeskToken({ expected: undefined as never, provided: token })).toBe(false);
  });

  it('accepts exactly the expected string, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (expected, provided) => {
        expect(verifyCallerDeskToken({ expected, provided })).toBe(
          expected !== '' && expected === provided,
        );
      }),
    );
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (expected, provided) => {
        expect(typeof verifyCallerDeskToken({ expected, provided } as never)).toBe('boolean');
      }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { busCursorVerifier, formatBusCursor, parseBusCursor } from './bus-cursor';

describe('bus cursors', () => {
  it('read back what they write, with a verifier or without one (the memory bus, earlier versions)', () => {
    const verifier = busCursorVerifier(1_765_000_000_123);
    expect(verifier).toMatch(/^[0-9a-z]{8}$/);
    expect(formatBusCursor('19ae2f1c0a5b3', 42, verifier)).toBe(`19ae2f1c0a5b3:42.${verifier}`);
    expect(parseBusCursor(`19ae2f1c0a5b3:42.${verifier}`)).toEqual({
      epoch: '19ae2f1c0a5b3',
      seq: 42,
      verifier,
    });
    expect(parseBusCursor('k3x9q2m1a:7')).toEqual({ epoch: 'k3x9q2m1a', seq: 7 });
  });

  it('refuse what is not one', () => {
    for (const text of [
      '',
      'garbage',
      ':1',
      'e:',
      'e:x',
      'e:1.',
      'e:1.ABC',
      'e:1.a-b',
      'e:1.123456789abc', // 12 digits: no time in ms is that long
      'e:1234567890123456',
      'e:1.2.3',
    ]) {
      expect(parseBusCursor(text)).toBeUndefined();
    }
  });
});

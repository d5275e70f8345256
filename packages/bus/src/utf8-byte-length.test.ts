import { describe, expect, it } from 'vitest';
import { utf8ByteLength } from './utf8-byte-length';

describe('utf8ByteLength', () => {
  it('counts as TextEncoder does: ASCII, 2, 3 and 4 bytes, lone surrogates', () => {
    const encoder = new TextEncoder();
    for (const text of [
      '',
      'abc',
      'é',
      '€uro',
      '😀',
      'a😀b',
      '\ud800',
      'x\udc00y',
      '\ud800\ud800',
      'ünïcødé 日本 😀😀',
    ]) {
      expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
    }
  });
});

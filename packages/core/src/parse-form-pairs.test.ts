import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFormPairs } from './parse-form-pairs';

const urlSearchParams = (text: string) => [...new URLSearchParams(text)];

describe('parseFormPairs', () => {
  it('decodes names and values like URLSearchParams, keeping every pair in order', () => {
    for (const text of [
      'To=%2B14155550100&Caller=a+b&Digits=1&Digits=2',
      '?a=1&&b=&c&=d&e==f',
      'name=J%C3%BCrgen&city=M%C3%BCnchen+%26+Co',
      'bad=%zz&half=%E2%82&lone=%&plus=%2B+',
      'x=\ud800',
      'Timestamp=Sun%2C+25+Mar+2018+09%3A53%3A19+%2B0000&To=%2b1%7F%00&z=%4',
      '',
      '&',
    ]) {
      expect(parseFormPairs(text), text).toEqual(urlSearchParams(text));
    }
  });

  it('matches URLSearchParams on any input', () => {
    const piece = fc.oneof(
      fc.string(),
      fc.constantFrom('%', '%2', '%25', '%C3%BC', '%E2%82', '%F0%9F%98%80', '+', '&', '=', '?'),
      // ASCII escapes (decoded without decodeURIComponent), at the edges of that range.
      fc.constantFrom(
        '%2B',
        '%2b',
        '%3A',
        '%00',
        '%7F',
        '%7f',
        '%80',
        '%8',
        '%g1',
        '%1g',
        '%41%42',
      ),
      fc.string({ unit: 'grapheme' }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        expect(parseFormPairs(text)).toEqual(urlSearchParams(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips what URLSearchParams encodes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string())), (pairs) => {
        const encoded = new URLSearchParams(pairs).toString();
        expect(parseFormPairs(encoded)).toEqual(urlSearchParams(encoded));
      }),
    );
  });
});

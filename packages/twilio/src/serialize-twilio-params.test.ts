import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { serializeTwilioParamPairs, serializeTwilioParams } from './serialize-twilio-params';

describe('serializeTwilioParams', () => {
  it('sorts names by code unit and joins name+value without separators', () => {
    expect(serializeTwilioParams({ b: '2', a: '1', B: '3' })).toBe('B3a1b2');
  });

  it('de-duplicates and sorts the values of a repeated name', () => {
    expect(serializeTwilioParams({ Digits: ['5678', '1234', '1234'], Sid: 'CA1' })).toBe(
      'Digits1234Digits5678SidCA1',
    );
    expect(serializeTwilioParams(new URLSearchParams('x=2&x=1&x=2&a=0'))).toBe('a0x1x2');
  });

  it('keeps empty values and skips undefined ones', () => {
    expect(serializeTwilioParams({ a: '', b: undefined })).toBe('a');
    expect(serializeTwilioParams(undefined)).toBe('');
  });
});

describe('serializeTwilioParamPairs', () => {
  it('serializes pairs as serializeTwilioParams serializes the same body, short and long', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 })), {
          maxLength: 80,
        }),
        (pairs) => {
          const body = new URLSearchParams(pairs).toString();
          const expected = serializeTwilioParams(new URLSearchParams(body));
          const record: Record<string, string[]> = Object.create(null);
          for (const [name, value] of pairs) record[name] = [...(record[name] ?? []), value];
          expect(serializeTwilioParamPairs(pairs.map(([name, value]) => [name, value]))).toBe(
            expected,
          );
          expect(serializeTwilioParams(record)).toBe(expected);
        },
      ),
    );
  });
});

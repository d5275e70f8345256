import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCallerDeskJson } from './parse-callerdesk-json';

describe('parseCallerDeskJson', () => {
  it('keeps the text of a numeric CallSid, and parses everything else as JSON.parse does', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc
            .string()
            .filter(
              (name) => !/^(callsid|uniqueid)$/.test(name.toLowerCase().replace(/[^a-z0-9]/g, '')),
            ),
          fc.jsonValue(),
        ),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(0, 2, '\t'),
        (fields, callSid, space) => {
          const text = JSON.stringify({ ...fields, CallSid: callSid }, null, space);
          const parsed = parseCallerDeskJson(text) as Record<string, unknown>;
          const expected = JSON.parse(text) as Record<string, unknown>;
          // JSON.stringify writes the shortest text, which is what String gives.
          expect(parsed.CallSid).toBe(String(expected.CallSid));
          expect({ ...parsed, CallSid: expected.CallSid }).toEqual(expected);
        },
      ),
    );
  });

  it('answers 400 for text that is not JSON, and leaves arrays and strings alone', () => {
    expect(() => parseCallerDeskJson('{"CallSid":')).toThrow(
      expect.objectContaining({ code: 'invalid_payload' }),
    );
    expect(parseCallerDeskJson('[1.50]')).toEqual([1.5]);
    expect(parseCallerDeskJson('"1.50"')).toBe('1.50');
  });
});

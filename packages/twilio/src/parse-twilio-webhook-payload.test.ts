import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidStatusCallback } from './parse-twilio-webhook-payload';
import { twilioStatusCallbackSchema } from './twilio-status-callback-schema';

describe('isValidStatusCallback', () => {
  it('decides exactly as twilioStatusCallbackSchema for every record of strings', () => {
    const sid = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_-]{0,70}$/),
      fc.string(),
      fc.constantFrom('CA1', '', 'CA 1', `CA${'f'.repeat(62)}`, `CA${'f'.repeat(63)}`, 'CA1\n'),
    );
    const field = fc.constantFrom('CallSid', 'CallStatus', 'AccountSid', 'From', 'To', 'Foo');
    const record = fc.record(
      {
        CallSid: sid,
        CallStatus: fc.oneof(fc.string(), fc.constantFrom('', 'completed', ' ')),
        extra: fc.dictionary(fc.oneof(field, fc.string()), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, ({ extra, ...required }) => {
        // Built by assignment, as toParamRecord builds every record it is given: a name
        // `__proto__` then changes nothing (a spread would make it an own field, which no
        // webhook's params can have and which zod's output drops).
        const params: Record<string, string> = {};
        for (const [name, value] of Object.entries({ ...extra, ...required })) params[name] = value;
        const parsed = twilioStatusCallbackSchema.safeParse(params);
        expect(isValidStatusCallback(params)).toBe(parsed.success);
        if (parsed.success) expect(parsed.data).toEqual(params);
      }),
      { numRuns: 2000 },
    );
  });
});

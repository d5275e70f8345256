import { describe, expect, it } from 'vitest';
import { checkPayloadJsonLimits } from './check-payload-json-limits';

const where = { payload: 'Retell webhook', field: 'call.metadata' };

describe('checkPayloadJsonLimits', () => {
  it('accepts a value within the limits', () => {
    expect(() =>
      checkPayloadJsonLimits({ a: [1, { b: 2 }] }, { maxDepth: 3, maxLength: 100 }, where),
    ).not.toThrow();
  });

  it('refuses a value nested 20,000 levels deep with a 400 naming the field', () => {
    let value: unknown = {};
    for (let level = 0; level < 20_000; level += 1) value = { a: value };
    expect(() => checkPayloadJsonLimits(value, { maxDepth: 16, maxLength: 1e6 }, where)).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_payload',
        message: 'Invalid Retell webhook: "call.metadata" is nested deeper than 16 levels.',
      }),
    );
  });

  it('refuses a value longer than the limit', () => {
    expect(() =>
      checkPayloadJsonLimits('x'.repeat(200), { maxDepth: 4, maxLength: 100 }, where),
    ).toThrow(/"call.metadata" is longer than 100 characters as JSON/);
  });
});

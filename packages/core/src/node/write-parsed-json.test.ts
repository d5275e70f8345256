import { describe, expect, it } from 'vitest';
import { IncomingBody } from './incoming-body';
import { writeParsedJson } from './write-parsed-json';

const decoder = new TextDecoder();
const written = (value: unknown, maxBytes = Number.POSITIVE_INFINITY) =>
  decoder.decode(writeParsedJson(value, maxBytes));

/** `[[…]]` nested `depth` levels. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level += 1) value = [value];
  return value;
}

describe('writeParsedJson', () => {
  it('writes what JSON.stringify writes, toJSON and boxed values included', () => {
    const value = {
      a: [1, 'é', null, true, -0],
      when: new Date(0),
      boxed: [Object(2), Object('s')],
      skipped: undefined,
    };
    expect(written(value)).toBe(JSON.stringify(value));
    expect(written('{"a":1}')).toBe('"{\\"a\\":1}"');
    expect(written(nested(1000))).toBe(JSON.stringify(nested(1000)));
  });

  it('refuses a body longer than the limit with 413, however deep, and one too deep with 400', () => {
    expect(() => writeParsedJson({ pad: 'x'.repeat(100) }, 50)).toThrow(
      expect.objectContaining({ status: 413, code: 'payload_too_large' }),
    );
    // Too deep for JSON.stringify, and too long as well: the limit's answer.
    expect(() => writeParsedJson(nested(20_000), 8192)).toThrow(
      expect.objectContaining({ status: 413 }),
    );
    // Within the limit, past 1,000 levels.
    expect(() => writeParsedJson(nested(1001), 8192)).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_payload',
        message: 'The JSON body is nested deeper than 1000 levels.',
      }),
    );
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => writeParsedJson(cycle, 8192)).toThrow(expect.objectContaining({ status: 413 }));
    expect(() => writeParsedJson(cycle, Number.POSITIVE_INFINITY)).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });

  it('refuses with 400 what JSON cannot carry: non-finite numbers, a BigInt, a throwing toJSON', () => {
    for (const value of [
      { from: Number.POSITIVE_INFINITY },
      [Number.NEGATIVE_INFINITY],
      Number.NaN,
      { boxed: Object(Number.POSITIVE_INFINITY) },
      { n: 1n },
      {
        toJSON() {
          throw new Error('no');
        },
      },
      {
        get broken() {
          throw new Error('getter');
        },
      },
    ]) {
      expect(() => writeParsedJson(value, 8192)).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_payload' }),
      );
    }
  });

  it('is made for each read, under that read’s limit', async () => {
    const body = IncomingBody.fromBytes((maxBytes) =>
      writeParsedJson({ pad: 'x'.repeat(20) }, maxBytes),
    );
    await expect(body.read(10)).rejects.toMatchObject({ status: 413 });
    expect(decoder.decode(await body.read(100))).toBe(`{"pad":"${'x'.repeat(20)}"}`);
  });
});

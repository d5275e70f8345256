import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonLimits } from './check-json-limits';

const roomy = { maxDepth: 64, maxLength: 1_000_000 };

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('checkJsonLimits', () => {
  it('accepts any JSON value within the limits', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        expect(checkJsonLimits(value, roomy)).toBeUndefined();
      }),
    );
  });

  it('never counts fewer characters than JSON.stringify writes, escapes included', () => {
    // Escaped characters (a control character is six characters of JSON), pairs and lone
    // surrogates, keys as well as values.
    const unit = fc.constantFrom(
      'a',
      ' ',
      '"',
      '\\',
      '\n',
      '\u0001',
      '\u001f',
      'é',
      '😀',
      '\uD800',
      '\uDC00',
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6, stringUnit: unit }), (value) => {
        const text = JSON.stringify(value);
        expect(checkJsonLimits(value, { maxDepth: 64, maxLength: text.length - 1 })).toMatchObject(
          text.length > 0 ? { reason: 'length' } : {},
        );
      }),
    );
  });

  it('counts exactly the characters JSON.stringify writes: a value of the limit passes, one over does not', () => {
    // Left-out members (undefined, functions, symbols) and nulls in arrays as well.
    const leftOut = fc.constantFrom(undefined, () => 1, Symbol('s'));
    const value = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 2 }),
        leftOut,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(value, (value) => {
        const text = JSON.stringify(value);
        const length = text === undefined ? 0 : text.length;
        expect(checkJsonLimits(value, { maxDepth: 64, maxLength: length })).toBeUndefined();
        if (length > 0) {
          expect(checkJsonLimits(value, { maxDepth: 64, maxLength: length - 1 })).toMatchObject({
            reason: 'length',
          });
        }
      }),
    );
    const body = { leads: [{ leadId: 'a', gone: undefined }, { leadId: 'b' }], list: [undefined] };
    const length = JSON.stringify(body).length;
    expect(checkJsonLimits(body, { maxDepth: 4, maxLength: length })).toBeUndefined();
    expect(checkJsonLimits(body, { maxDepth: 4, maxLength: length - 1 })?.reason).toBe('length');
  });

  it('counts a string as JSON writes it: quotes, short escapes, \\u00XX and lone surrogates', () => {
    for (const text of [
      'plain',
      'a"b\\c',
      'line\nbreak\ttab',
      '\u0001\u001f',
      '😀',
      '\uD800x',
      'x\uDC00',
    ]) {
      const length = JSON.stringify(text).length;
      expect(checkJsonLimits(text, { maxDepth: 1, maxLength: length }), text).toBeUndefined();
      expect(checkJsonLimits(text, { maxDepth: 1, maxLength: length - 1 }), text).toMatchObject({
        reason: 'length',
      });
    }
  });

  it('reports a value nested 100,000 levels deep without overflowing the stack, with its path', () => {
    const result = checkJsonLimits({ metadata: nested(100_000) }, { maxDepth: 4, maxLength: 1e9 });
    expect(result).toEqual({
      reason: 'depth',
      path: ['metadata', 'a', 'a', 'a'],
      message: 'is nested deeper than 4 levels',
    });
  });

  it('counts depth as JSON does: containers add a level, scalars do not', () => {
    expect(checkJsonLimits('text', { maxDepth: 0, maxLength: 100 })).toBeUndefined();
    expect(checkJsonLimits({}, { maxDepth: 0, maxLength: 100 })?.reason).toBe('depth');
    expect(checkJsonLimits([[1]], { maxDepth: 2, maxLength: 100 })).toBeUndefined();
    expect(checkJsonLimits([[[1]]], { maxDepth: 2, maxLength: 100 })?.path).toEqual([0, 0]);
  });

  it('reports a cycle as too deep instead of looping', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(checkJsonLimits(cyclic, { maxDepth: 10, maxLength: 1e9 })?.reason).toBe('depth');
  });

  it('stops as soon as the length is over, whatever the size of the rest', () => {
    const huge = Array.from({ length: 200_000 }, () => 'x'.repeat(10));
    expect(checkJsonLimits({ huge }, { maxDepth: 4, maxLength: 1000 })).toEqual({
      reason: 'length',
      path: [],
      message: 'is longer than 1000 characters as JSON',
    });
  });

  it('reports a BigInt as unserializable, honours toJSON and treats undefined as omitted', () => {
    expect(checkJsonLimits({ amount: { cents: 10n } }, roomy)).toMatchObject({
      reason: 'unserializable',
      path: ['amount', 'cents'],
    });
    expect(checkJsonLimits({ at: new Date(0), gone: undefined }, roomy)).toBeUndefined();
    const throwing = {
      toJSON: () => {
        throw new Error('no');
      },
    };
    expect(checkJsonLimits({ list: [throwing] }, roomy)).toMatchObject({
      reason: 'unserializable',
      path: ['list', 0],
    });
  });
});

import { describe, expect, it } from 'vitest';
import { findRepeatedJsonKey } from './find-repeated-json-key';

describe('findRepeatedJsonKey', () => {
  it('finds a key given twice in one object, with the path to that object', () => {
    expect(findRepeatedJsonKey('{"leads": [1], "leads": []}')).toEqual({
      key: 'leads',
      path: [],
    });
    expect(
      findRepeatedJsonKey(
        '{"leads": [{"leadId": "a"}, {"b": {"x": 1}}, {"leadId": "b", "leadId": "c"}]}',
      ),
    ).toEqual({ key: 'leadId', path: ['leads', 2] });
    expect(findRepeatedJsonKey('[[], {"a": {"b": 1, "b": 2}}]')).toEqual({
      key: 'b',
      path: [1, 'a'],
    });
    // Compared as decoded: an escape is the same key.
    expect(findRepeatedJsonKey('{"leads": 1, "le\\u0061ds": 2}')).toEqual({
      key: 'leads',
      path: [],
    });
    // The first found, in text order.
    expect(findRepeatedJsonKey('{"a": {"x": 1, "x": 2}, "a": 3}')).toEqual({
      key: 'x',
      path: ['a'],
    });
  });

  it('finds none where each object gives each key once', () => {
    for (const text of [
      '{}',
      '[]',
      '"leads"',
      '12',
      'null',
      '{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}]}',
      // Keys look-alike in strings and escapes are not keys.
      '{"a": "\\"a\\": 1, \\"a\\": 2", "b": ["a", "a"], "c\\\\": 1, "c": 2}',
      '{"": 1, " ": 2, "\\u0000": 3}',
      // Keys of different case are different keys.
      '{"leads": 1, "Leads": 2}',
    ]) {
      expect(findRepeatedJsonKey(text), text).toBeUndefined();
    }
  });

  it('reads a deep body without recursion', () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    expect(findRepeatedJsonKey(deep)).toBeUndefined();
    const repeated = `${'['.repeat(100_000)}{"k":1,"k":2}${']'.repeat(100_000)}`;
    expect(findRepeatedJsonKey(repeated)?.key).toBe('k');
  });
});

import { describe, expect, it } from 'vitest';
import { toLuaLiteral } from './to-lua-literal';

describe('toLuaLiteral', () => {
  it('writes strings, integers, booleans, lists and tables', () => {
    expect(toLuaLiteral('in-progress')).toBe("'in-progress'");
    expect(toLuaLiteral(-1)).toBe('-1');
    expect(toLuaLiteral(86_400_000)).toBe('86400000');
    expect(toLuaLiteral(false)).toBe('false');
    expect(toLuaLiteral(['a', 1])).toBe("{ 'a', 1 }");
    expect(toLuaLiteral({ 'no-answer': 3, nested: { ok: true } })).toBe(
      "{ ['no-answer'] = 3, ['nested'] = { ['ok'] = true } }",
    );
  });

  it('refuses what would need escaping or lose precision', () => {
    for (const value of ["it's", 'back\\slash', 'line\nbreak', 'é']) {
      expect(() => toLuaLiteral(value)).toThrowError(/plain Lua string/);
    }
    for (const value of [0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(() => toLuaLiteral(value)).toThrowError(/safe integer/);
    }
  });
});

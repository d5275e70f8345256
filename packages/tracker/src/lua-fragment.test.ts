import { describe, expect, it } from 'vitest';
import { composeLuaScript, defineLuaFragment, listLuaFragments } from './lua-fragment';

describe('Lua fragments', () => {
  it('composes fragments in order under a header each, and lists them back', () => {
    const script = composeLuaScript([
      defineLuaFragment('first', '\nlocal a = 1\n'),
      defineLuaFragment('second', 'local b = a + 1'),
    ]);
    expect(script).toBe(
      '-- fragment: first\nlocal a = 1\n\n-- fragment: second\nlocal b = a + 1\n',
    );
    expect(listLuaFragments(script)).toEqual(['first', 'second']);
  });

  it('refuses a fragment composed twice and a name that is not kebab-case', () => {
    const fragment = defineLuaFragment('once', 'local x = 1');
    expect(() => composeLuaScript([fragment, fragment])).toThrowError(/"once" is composed twice/);
    expect(() => defineLuaFragment('Not kebab', '')).toThrowError(/kebab-case/);
  });
});

/**
 * A named piece of Lua that the Redis store's scripts are composed from. Fragments only define
 * `local` values and functions (they run nothing on their own), so a script is its fragments in
 * dependency order followed by a body that calls them.
 */
export interface LuaFragment {
  /** Unique within a script; by convention the TypeScript file the fragment mirrors. */
  name: string;
  source: string;
}

const headerPrefix = '-- fragment: ';

/** Defines a fragment; the source is trimmed. */
export function defineLuaFragment(name: string, source: string): LuaFragment {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new Error(`Lua fragment names are kebab-case: ${JSON.stringify(name)}.`);
  }
  return { name, source: source.trim() };
}

/**
 * Joins fragments into one script, each under a `-- fragment: <name>` line, so a reader (or
 * `SCRIPT` debugging) can tell where each piece starts. Throws when a name comes twice: a
 * fragment composed twice would define its locals twice, and the second copy would silently win.
 */
export function composeLuaScript(fragments: readonly LuaFragment[]): string {
  const seen = new Set<string>();
  for (const { name } of fragments) {
    if (seen.has(name)) throw new Error(`Lua fragment "${name}" is composed twice.`);
    seen.add(name);
  }
  return `${fragments.map(({ name, source }) => `${headerPrefix}${name}\n${source}\n`).join('\n')}`;
}

/** The names of the fragments a composed script is made of, in order. */
export function listLuaFragments(script: string): string[] {
  return script
    .split('\n')
    .filter((line) => line.startsWith(headerPrefix))
    .map((line) => line.slice(headerPrefix.length));
}

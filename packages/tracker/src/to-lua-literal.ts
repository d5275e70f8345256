/** A value {@link toLuaLiteral} can write: what the store's scripts take from TypeScript. */
export type LuaLiteralValue =
  | string
  | number
  | boolean
  | readonly LuaLiteralValue[]
  | { readonly [key: string]: LuaLiteralValue };

/**
 * Writes a TypeScript constant as a Lua literal, so the store's scripts are generated from the
 * same constants the memory store uses and the two cannot drift. Strings must be plain ASCII
 * without quotes or backslashes and numbers safe integers: these are names and sizes, and
 * anything else is a mistake here rather than something to escape.
 */
export function toLuaLiteral(value: LuaLiteralValue): string {
  if (typeof value === 'string') {
    if (!/^[\x20-\x7e]*$/.test(value) || /['\\]/.test(value)) {
      throw new Error(`Not a plain Lua string: ${JSON.stringify(value)}.`);
    }
    return `'${value}'`;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`Not a safe integer: ${value}.`);
    return String(value);
  }
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{ ${value.map(toLuaLiteral).join(', ')} }`;
  const entries = Object.entries(value as Record<string, LuaLiteralValue>);
  return `{ ${entries.map(([key, entry]) => `[${toLuaLiteral(key)}] = ${toLuaLiteral(entry)}`).join(', ')} }`;
}

/** A compiled `types` filter. */
export interface TypeMatcher {
  /** The filter's identity: its sorted, de-duplicated types joined by `,` (empty: every type). */
  key: string;
  matches(type: string): boolean;
}

const everyType: TypeMatcher = { key: '', matches: () => true };

/**
 * Compiles a `types` filter with the bus's semantics: an entry matches its exact type, and an
 * entry ending in `.*` matches every type under that prefix (`call.*`). No types: everything.
 */
export function createTypeMatcher(types: readonly string[] | undefined): TypeMatcher {
  if (types === undefined || types.length === 0) return everyType;
  const sorted = [...new Set(types)].sort();
  const exact = new Set(sorted.filter((type) => !type.endsWith('.*')));
  const prefixes = sorted.filter((type) => type.endsWith('.*')).map((type) => type.slice(0, -1));
  return {
    key: sorted.join(','),
    matches: (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix)),
  };
}

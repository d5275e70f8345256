/**
 * The one order the PostgreSQL lead store takes lead rows in, in every write over many leads:
 * by tenant, then lead id, each compared as the bytes of its text (UTF-8; SQL's
 * `::text COLLATE "C"`, {@link leadKeyOrderSql}). Two writes that share leads then wait for each
 * other instead of each holding a row the other needs (a deadlock, 40P01, fails one of them).
 * Byte order, not your columns' collation, so the store can sort in JavaScript what it inserts
 * in the same order its statements lock what is already there.
 */
export function sortByLeadKey<T extends { tenantId: string; leadId: string }>(
  leads: readonly T[],
): number[] {
  // NUL sorts before every other byte and is in no key a text column holds: tenant, NUL, lead
  // compares as the pair does.
  const keys = leads.map(({ tenantId, leadId }) => Buffer.from(`${tenantId}\u0000${leadId}`));
  return keys.map((_, index) => index).sort((a, b) => Buffer.compare(keys[a]!, keys[b]!));
}

/** {@link sortByLeadKey}'s order as an `ORDER BY` list over a lead table's key columns. */
export function leadKeyOrderSql(tenantColumn: string, leadColumn: string): string {
  return `${tenantColumn}::text COLLATE "C", ${leadColumn}::text COLLATE "C"`;
}

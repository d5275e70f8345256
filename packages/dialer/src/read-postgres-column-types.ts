import type { PostgresPool } from './postgres-pool';

/**
 * The SQL type of each named column of `table` (a quoted, optionally schema-qualified name), as
 * PostgreSQL spells it (`bigint`, `uuid`, `character varying(64)`, `text`…), read from the
 * catalog. A column the table does not have is left out.
 */
export async function readPostgresColumnTypes(
  pool: PostgresPool,
  table: string,
  columns: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await pool.query(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
     WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname = ANY($2)`,
    [table, columns],
  );
  return new Map(rows.map((row) => [String(row.name), String(row.type)]));
}

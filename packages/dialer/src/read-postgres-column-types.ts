import type { PostgresPool } from './postgres-pool';

/** A column's SQL type: with its modifier (to check a value's length) and without (to cast to). */
export interface PostgresColumnType {
  /** As PostgreSQL spells it: `bigint`, `uuid`, `character varying(64)`, `text`… */
  type: string;
  /**
   * The type without its modifier (`character varying`, `bpchar`): a cast to `varchar(8)` cuts a
   * longer value silently, while the INSERT's assignment to the column refuses it (22001).
   */
  castType: string;
}

/**
 * The SQL type of each named column of `table` (a quoted, optionally schema-qualified name), read
 * from the catalog. A column the table does not have is left out.
 */
export async function readPostgresColumnTypes(
  pool: PostgresPool,
  table: string,
  columns: readonly string[],
): Promise<Map<string, PostgresColumnType>> {
  // A domain is read as the type under it, with the first modifier on the way down: a cast to a
  // domain over varchar(4) cuts like a cast to varchar(4). format_type(…, -1), not NULL: without
  // a modifier given, character reads as character(1).
  const { rows } = await pool.query(
    `WITH RECURSIVE col AS (
       SELECT attname AS name, atttypid AS type_id, atttypmod AS type_mod FROM pg_attribute
       WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname = ANY($2)
       UNION ALL
       SELECT col.name, t.typbasetype,
         CASE WHEN col.type_mod <> -1 THEN col.type_mod ELSE t.typtypmod END
       FROM col JOIN pg_type t ON t.oid = col.type_id WHERE t.typtype = 'd'
     )
     SELECT name, format_type(type_id, type_mod) AS type, format_type(type_id, -1) AS cast_type
     FROM col JOIN pg_type t ON t.oid = col.type_id WHERE t.typtype <> 'd'`,
    [table, columns],
  );
  return new Map(
    rows.map((row) => [
      String(row.name),
      { type: String(row.type), castType: String(row.cast_type) },
    ]),
  );
}

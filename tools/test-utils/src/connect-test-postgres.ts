import pg from 'pg';

/** Where the test PostgreSQL runs: `DATABASE_URL`, or the machine's on 127.0.0.1:5432 (trust auth). */
export const testPostgresUrl =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** True when `CALLTRACK_REQUIRE_POSTGRES=1`: a missing PostgreSQL fails the run instead of skipping. */
export const postgresRequired = process.env.CALLTRACK_REQUIRE_POSTGRES === '1';

/**
 * Opens a small pool to the test PostgreSQL, or returns undefined when none answers (so suites
 * can skip locally). With `CALLTRACK_REQUIRE_POSTGRES=1` an unreachable server throws instead.
 * End it with `pool.end()`.
 */
export async function connectTestPostgres(
  options: { max?: number } = {},
): Promise<pg.Pool | undefined> {
  const pool = new pg.Pool({
    connectionString: testPostgresUrl,
    max: options.max ?? 4,
    connectionTimeoutMillis: 2000,
  });
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
    return pool;
  } catch (error) {
    await pool.end().catch(() => {});
    if (postgresRequired) {
      throw new Error(
        `CALLTRACK_REQUIRE_POSTGRES=1 but PostgreSQL at ${testPostgresUrl} does not answer`,
        { cause: error },
      );
    }
    return undefined;
  }
}

/**
 * A table name no other test uses (lowercase, a valid unquoted identifier), so suites can share
 * one database; drop what you create with {@link dropTables}.
 */
export function uniqueTableName(name = 'test'): string {
  return `ct_${name}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
}

/** Drops tables (if they exist) a test created. */
export async function dropTables(pool: pg.Pool, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await pool.query(`DROP TABLE IF EXISTS ${tables.map((table) => `"${table}"`).join(', ')}`);
}

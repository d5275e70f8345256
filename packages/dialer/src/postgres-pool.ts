/** A statement as the store sends it: text, parameters and, for hot statements, a name. */
export interface PostgresQuery {
  name?: string;
  text: string;
  values?: unknown[];
}

/** What a query answers: the rows and how many rows the statement touched. */
export interface PostgresQueryResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/** A connection checked out of the pool, for a transaction. A `pg` `PoolClient` fits. */
export interface PostgresPoolClient {
  query(query: PostgresQuery | string, values?: unknown[]): Promise<PostgresQueryResult>;
  release(): void;
}

/**
 * What the PostgreSQL lead store needs of your pool: a `pg` `Pool` fits as it is. Declared here
 * (not imported from `pg`) so the types of `@calltrack/dialer/postgres` do not need `@types/pg`.
 */
export interface PostgresPool {
  query(query: PostgresQuery | string, values?: unknown[]): Promise<PostgresQueryResult>;
  /**
   * A connection for a transaction. The store passes a callback (`(error, client) => …`), which a
   * `pg` `Pool` calls as it hands the connection over, so the store listens for the connection's
   * errors before anything else is read from it; a pool that ignores the callback and answers a
   * promise works too.
   */
  connect(): Promise<PostgresPoolClient>;
}

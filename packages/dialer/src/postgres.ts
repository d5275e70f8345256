export type { PostgresLeadStoreOptions } from './create-postgres-lead-store';
export { createPostgresLeadStore } from './create-postgres-lead-store';
export { postgresLeadStoreMigration } from './postgres-lead-store-migration';
export type {
  LeadColumn,
  PostgresLeadTableOptions,
} from './postgres-lead-table';
export { defaultLeadColumns } from './postgres-lead-table';
export type {
  PostgresPool,
  PostgresPoolClient,
  PostgresQuery,
  PostgresQueryResult,
} from './postgres-pool';

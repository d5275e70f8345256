import { type PostgresLeadTableOptions, resolvePostgresLeadTable } from './postgres-lead-table';

/**
 * The SQL that prepares a database for the PostgreSQL lead store, for your table and column
 * names: creates the leads table if you have none, adds the dialer's columns to it (each `IF NOT
 * EXISTS`, so it runs on your existing table), the partial index the pending query uses, and the
 * attempts table with its indexes. Idempotent. `migrations/0001_dialer.sql` in the package is
 * this SQL for the default names.
 */
export function postgresLeadStoreMigration(options: PostgresLeadTableOptions = {}): string {
  const { table, attempts, column: c, tableName, attemptsName } = resolvePostgresLeadTable(options);
  const index = (base: string, suffix: string): string => `"${`${base}_${suffix}`.slice(0, 63)}"`;
  return `-- calltrack dialer: leads and attempts (idempotent).
CREATE TABLE IF NOT EXISTS ${table} (
  ${c.tenantId} text NOT NULL,
  ${c.leadId} text NOT NULL,
  ${c.userId} text NOT NULL,
  ${c.phoneNumber} text,
  ${c.timeZone} text,
  ${c.callStatus} text NOT NULL DEFAULT 'pending',
  ${c.hasBeenCalled} boolean NOT NULL DEFAULT false,
  PRIMARY KEY (${c.tenantId}, ${c.leadId})
);

ALTER TABLE ${table}
  ADD COLUMN IF NOT EXISTS ${c.attemptCount} integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS ${c.lastAttemptAt} timestamptz,
  ADD COLUMN IF NOT EXISTS ${c.attemptId} text,
  ADD COLUMN IF NOT EXISTS ${c.fence} bigint NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS ${c.provider} text,
  ADD COLUMN IF NOT EXISTS ${c.callId} text,
  ADD COLUMN IF NOT EXISTS ${c.callOutcome} text,
  ADD COLUMN IF NOT EXISTS ${c.skipReason} text,
  ADD COLUMN IF NOT EXISTS ${c.skippedAt} timestamptz;

-- The dialer's read: a user's pending leads, in id order.
CREATE INDEX IF NOT EXISTS ${index(tableName, 'dialer_pending')}
  ON ${table} (${c.tenantId}, ${c.userId}, ${c.leadId})
  WHERE ${c.callStatus} = 'pending' AND ${c.hasBeenCalled} = false;

CREATE TABLE IF NOT EXISTS ${attempts} (
  attempt_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  lead_id text NOT NULL,
  user_id text NOT NULL,
  fence bigint NOT NULL,
  state text NOT NULL,
  claimed_at timestamptz NOT NULL,
  lease_until timestamptz,
  updated_at timestamptz NOT NULL,
  provider text,
  call_id text,
  outcome text,
  reason text,
  claimed_by text
);

-- Linking a provider's call (its webhooks) to the attempt.
CREATE INDEX IF NOT EXISTS ${index(attemptsName, 'call')}
  ON ${attempts} (tenant_id, provider, call_id) WHERE call_id IS NOT NULL;
-- The reconciler: claimed or unknown attempts whose lease ran out.
CREATE INDEX IF NOT EXISTS ${index(attemptsName, 'lease')}
  ON ${attempts} (lease_until) WHERE state IN ('claimed', 'unknown');
-- Review lists and the concurrency cap.
CREATE INDEX IF NOT EXISTS ${index(attemptsName, 'tenant')}
  ON ${attempts} (tenant_id, claimed_at DESC);
CREATE INDEX IF NOT EXISTS ${index(attemptsName, 'live')}
  ON ${attempts} (tenant_id, user_id, claimed_at) WHERE state IN ('claimed', 'placed', 'unknown');
-- The reconciler: placed calls whose end no dialer saw.
CREATE INDEX IF NOT EXISTS ${index(attemptsName, 'placed')}
  ON ${attempts} (updated_at) WHERE state = 'placed';
`;
}

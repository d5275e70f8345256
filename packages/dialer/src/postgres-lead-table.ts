import { InvalidArgumentError } from '@calltrack/core';

/** The lead fields the PostgreSQL store reads and writes, each mapped to a column. */
export type LeadColumn =
  | 'tenantId'
  | 'leadId'
  | 'userId'
  | 'phoneNumber'
  | 'timeZone'
  | 'callStatus'
  | 'hasBeenCalled'
  | 'attemptCount'
  | 'lastAttemptAt'
  | 'attemptId'
  | 'fence'
  | 'provider'
  | 'callId'
  | 'callOutcome'
  | 'skipReason'
  | 'skippedAt';

/** The default column of each lead field: your table's names go in `columns`. */
export const defaultLeadColumns: Readonly<Record<LeadColumn, string>> = {
  tenantId: 'tenant_id',
  leadId: 'id',
  userId: 'user_id',
  phoneNumber: 'phone_number',
  timeZone: 'time_zone',
  callStatus: 'call_status',
  hasBeenCalled: 'has_been_called',
  attemptCount: 'dialer_attempt_count',
  lastAttemptAt: 'dialer_last_attempt_at',
  attemptId: 'dialer_attempt_id',
  fence: 'dialer_fence',
  provider: 'dialer_provider',
  callId: 'dialer_call_id',
  callOutcome: 'dialer_call_outcome',
  skipReason: 'dialer_skip_reason',
  skippedAt: 'dialer_skipped_at',
};

/** Where the leads and the attempts live. */
export interface PostgresLeadTableOptions {
  /** Your leads table, optionally schema-qualified (`sales.leads`). Default `leads`. */
  table?: string;
  /** Column names that differ from {@link defaultLeadColumns}. */
  columns?: Partial<Record<LeadColumn, string>>;
  /** The dialer's own attempts table. Default `calltrack_dialer_attempts`. */
  attemptsTable?: string;
}

/** The resolved, quoted names. */
export interface PostgresLeadTable {
  table: string;
  attempts: string;
  /** Quoted column of each field. */
  column: Readonly<Record<LeadColumn, string>>;
  /** Plain (unquoted) column of each field, as the catalog names it. */
  columnName: Readonly<Record<LeadColumn, string>>;
  /** Plain (unquoted) name of the table, for index names. */
  tableName: string;
  attemptsName: string;
}

const identifier = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function quote(name: string, what: string, qualified: boolean): string {
  const parts = qualified ? name.split('.') : [name];
  if (parts.length > 2 || parts.some((part) => !identifier.test(part))) {
    throw new InvalidArgumentError({
      message: `${what} must be a plain SQL identifier${qualified ? ' (optionally schema.name)' : ''}, got ${JSON.stringify(name)}.`,
    });
  }
  return parts.map((part) => `"${part}"`).join('.');
}

/** Checks and quotes the configured names (letters, digits, `_`, `$`; nothing to escape). */
export function resolvePostgresLeadTable(
  options: PostgresLeadTableOptions = {},
): PostgresLeadTable {
  const table = options.table ?? 'leads';
  const attempts = options.attemptsTable ?? 'calltrack_dialer_attempts';
  const column = {} as Record<LeadColumn, string>;
  const columnName = { ...defaultLeadColumns, ...options.columns };
  for (const [field, name] of Object.entries(columnName)) {
    column[field as LeadColumn] = quote(name, `columns.${field}`, false);
  }
  return {
    table: quote(table, 'table', true),
    attempts: quote(attempts, 'attemptsTable', true),
    column,
    columnName,
    tableName: table.replace('.', '_'),
    attemptsName: attempts.replace('.', '_'),
  };
}

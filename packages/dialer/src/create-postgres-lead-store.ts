import { createHash } from 'node:crypto';
import type { CallStatus } from '@calltrack/core';
import { InvalidArgumentError } from '@calltrack/core';
import { applyAttemptUpdate } from './apply-attempt-update';
import { checkOutPostgresClient } from './check-out-postgres-client';
import { InvalidLeadError } from './errors/invalid-lead-error';
import { fitsPostgresType, postgresSpelling } from './fits-postgres-type';
import type { Lead, LeadCallStatus } from './lead';
import { type AttemptState, claimedAttempt, claimedLead, type LeadAttempt } from './lead-attempt';
import { leadKeyOrderSql, sortByLeadKey } from './lead-key-order';
import type {
  ClaimRefusal,
  ClaimResult,
  ExpiredAttemptOutcome,
  LeadSkip,
  LeadStore,
} from './lead-store';
import { parseLeadInputs } from './parse-lead-inputs';
import {
  type LeadColumn,
  type PostgresLeadTableOptions,
  resolvePostgresLeadTable,
} from './postgres-lead-table';
import type { PostgresPool, PostgresQuery } from './postgres-pool';
import { catchPostgresStoreErrors } from './postgres-unavailable';
import { readPostgresColumnTypes } from './read-postgres-column-types';

/** Options of {@link createPostgresLeadStore}. */
export interface PostgresLeadStoreOptions extends PostgresLeadTableOptions {
  /**
   * Your `pg` pool. The store runs single statements on it and, for fenced writes, a short
   * transaction on a client it checks out and returns; it never ends the pool.
   */
  pool: PostgresPool;
}

type Row = Record<string, unknown>;

/**
 * A named statement: PostgreSQL parses and plans it once per connection, not on every claim.
 * The name is the text's hash (computed once, here), so two stores over different tables never
 * share one.
 */
function namedStatement(text: string): (values: unknown[]) => PostgresQuery {
  const name = `calltrack-dialer-${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  return (values) => ({ name, text, values });
}

const attemptColumns =
  'attempt_id, tenant_id, lead_id, user_id, fence, state, claimed_at, lease_until, updated_at, provider, call_id, outcome, reason, claimed_by';

/**
 * A lead store on PostgreSQL, over the leads table your app already has (names configurable;
 * run {@link postgresLeadStoreMigration} or the shipped `migrations/0001_dialer.sql` first).
 *
 * The claim is one statement: `SELECT … FOR UPDATE SKIP LOCKED` picks the asked-for leads that
 * are pending and not called (and within the attempt cap and gap), an `UPDATE … RETURNING` marks
 * them and raises their fence, and an `INSERT` records the attempts. A fenced write is a short
 * transaction that locks the lead row, then the attempt's, checks the fence and the move on what
 * the locks read, and updates both rows.
 */
export function createPostgresLeadStore(options: PostgresLeadStoreOptions): LeadStore {
  if (options == null || typeof options !== 'object' || options.pool == null) {
    throw new InvalidArgumentError({
      message: 'createPostgresLeadStore needs { pool }: your pg Pool.',
    });
  }
  const { pool } = options;
  const { table, attempts, column: c, columnName } = resolvePostgresLeadTable(options);
  // The string fields are read as text: a character(n) column's value comes out blank-padded
  // (`ab   `) as it is, and unpadded (`ab`, as it was given) as text, the spelling the claims and
  // the attempts table keep. One id is one string on every path.
  const leadSelect = (alias: string): string =>
    (Object.entries(c) as [LeadColumn, string][])
      .map(
        ([field, name]) =>
          `${alias}.${name}${textFields.has(field) ? '::text' : ''} AS "l_${field}"`,
      )
      .join(', ');

  // A write by primary key to a lead that must still be pending. `coalesce(…) = false` says
  // `has_been_called = false` in words the planner cannot match to the pending index's
  // predicate: matched, that partial index competes with the primary key, and when its
  // statistics are stale (leads loaded after the last ANALYZE, a new table) it looks nearly
  // empty and wins, and every claim scans the tenant's pending leads instead of one row.
  // Every write over many leads takes their rows in this one order (see `sortByLeadKey`).
  const inKeyOrder = (alias: string): string =>
    leadKeyOrderSql(`${alias}.${c.tenantId}`, `${alias}.${c.leadId}`);
  const pending = (alias: string): string =>
    `${alias}.${c.callStatus} = 'pending' AND coalesce(${alias}.${c.hasBeenCalled}, true) = false`;
  // The owner, number and zone the gates checked ($8: { leadId: [userId, phone, zone] }), as the
  // store reads them: a row your app edited since is not claimed (`changed`).
  const checkedFields = (alias: string): string =>
    `jsonb_build_array(${alias}.${c.userId}::text, coalesce(${alias}.${c.phoneNumber}::text, ''), ${alias}.${c.timeZone}::text)`;
  const asChecked = (alias: string): string =>
    `($8::jsonb IS NULL OR NOT $8::jsonb ? ${alias}.${c.leadId}::text OR $8::jsonb -> ${alias}.${c.leadId}::text = ${checkedFields(alias)})`;
  const claimable = (alias: string): string => `
    ${pending(alias)}
    AND ($5::integer IS NULL OR ${alias}.${c.attemptCount} < $5::integer)
    AND ($6::timestamptz IS NULL OR ${alias}.${c.lastAttemptAt} IS NULL OR ${alias}.${c.lastAttemptAt} <= $6::timestamptz)
    AND ${asChecked(alias)}`;
  const markClaimed = `
    ${c.hasBeenCalled} = true, ${c.callStatus} = 'dialing',
    ${c.attemptCount} = L.${c.attemptCount} + 1, ${c.lastAttemptAt} = $3,
    ${c.attemptId} = gen_random_uuid()::text, ${c.fence} = L.${c.fence} + 1,
    ${c.provider} = NULL, ${c.callId} = NULL, ${c.callOutcome} = NULL,
    ${c.skipReason} = NULL, ${c.skippedAt} = NULL`;
  // The rest of the claimed lead and its attempt the caller knows: it asked for them.
  const claimedReturning = `
    L.${c.tenantId}::text AS tenant, L.${c.leadId}::text AS lead, L.${c.userId}::text AS owner,
    L.${c.phoneNumber}::text AS phone, L.${c.timeZone}::text AS zone,
    L.${c.attemptCount} AS attempts, L.${c.attemptId}::text AS attempt, L.${c.fence} AS fence`;
  // A data-modifying WITH runs to completion whether or not the SELECT reads it.
  const recordAttempts = `
recorded AS (
  INSERT INTO ${attempts} (attempt_id, tenant_id, lead_id, user_id, fence, state, claimed_at, lease_until, updated_at, claimed_by)
  SELECT attempt, tenant, lead, owner, fence, 'claimed', $3, $4, $3, $7
  FROM claimed
)
SELECT tenant, lead, owner, phone, zone, attempts, attempt, fence FROM claimed`;

  // One lead: a conditional UPDATE by primary key. A concurrent claimer of the same row waits
  // for the first to commit, then re-checks the condition and finds the lead taken.
  const claimOneSql = `
WITH claimed AS (
  UPDATE ${table} L SET ${markClaimed}
  WHERE L.${c.tenantId} = $1 AND L.${c.leadId} = $2 AND ${claimable('L')}
  RETURNING ${claimedReturning}
), ${recordAttempts}`;

  // A batch: rows another transaction is claiming are skipped (SKIP LOCKED), not waited for, so
  // a claim never waits for a lead and needs no order to take them in.
  const claimManySql = `
WITH locked AS (
  SELECT L.${c.tenantId} AS tenant, L.${c.leadId} AS lead
  FROM ${table} L
  WHERE L.${c.tenantId} = $1 AND L.${c.leadId} = ANY($2) AND ${claimable('L')}
  FOR UPDATE OF L SKIP LOCKED
), claimed AS (
  UPDATE ${table} L SET ${markClaimed}
  FROM locked
  WHERE L.${c.tenantId} = locked.tenant AND L.${c.leadId} = locked.lead
  RETURNING ${claimedReturning}
), ${recordAttempts}`;

  const whyNotSql = `
SELECT L.${c.leadId}::text AS lead, L.${c.callStatus} AS status, L.${c.hasBeenCalled} AS called,
  L.${c.attemptCount} AS attempts, L.${c.lastAttemptAt} AS last_attempt,
  ${asChecked('L').replaceAll('$8', '$3')} AS as_checked
FROM ${table} L WHERE L.${c.tenantId} = $1 AND L.${c.leadId} = ANY($2)`;

  // A fenced write locks its lead, then its attempt (the order the reconciler's batch takes them
  // in, so the two wait for each other instead of deadlocking), each in a statement of its own,
  // and decides on what the locks return. A locked row comes back as its newest version even when
  // the statement waited for it; any other row in the same statement would come back as it was
  // when the statement began (READ COMMITTED): joined to the lead's lock, an attempt a `placed`
  // had just moved on read `claimed`, and an `ended` right behind was refused.
  const lockLeadSql = `
SELECT ${leadSelect('L')}
FROM ${table} L
WHERE L.${c.tenantId} = $1 AND L.${c.leadId} = $2
FOR UPDATE OF L`;

  const lockAttemptSql = `
SELECT ${attemptColumns} FROM ${attempts} A
WHERE A.tenant_id = $1 AND A.attempt_id = $2
FOR UPDATE OF A`;

  const writeUpdateSql = `
WITH lead AS (
  UPDATE ${table} SET ${c.callStatus} = $3, ${c.hasBeenCalled} = $4, ${c.fence} = $5,
    ${c.provider} = $6, ${c.callId} = $7, ${c.callOutcome} = $8
  WHERE ${c.tenantId} = $1 AND ${c.leadId} = $2
  RETURNING 1
)
UPDATE ${attempts} SET state = $10, fence = $5, updated_at = $11, lease_until = $12,
  provider = $6, call_id = $7, outcome = $8, reason = $13
WHERE tenant_id = $14 AND attempt_id = $9`;

  // Orphaning a batch of expired attempts (the reconciler's), in one short transaction: lock the
  // batch's leads (in the one order of every write over many leads), then its attempts, in key
  // order (a fenced write takes one lead, then its attempt: so two reconcilers, or a reconciler
  // and a batch of skips, wait for each other instead of deadlocking), then decide and write
  // every attempt in one statement. It runs after the locks, so it reads what they hold as it is
  // now: a statement that waited for a lock itself would read the attempts as they were before.
  // The leads' keys arrive as text and are cast to your columns' types (NULL: a key your columns
  // cannot hold, no lead). Each attempt is decided as `applyAttemptUpdate` and
  // `orphanDetachedAttempt` decide it: taken over while its lead holds it at that fence;
  // orphaned alone when its lead is gone or on another attempt; else left as it is.
  type OrphanStatements = Record<
    'lockLeads' | 'lockAttempts' | 'orphan',
    (values: unknown[]) => PostgresQuery
  >;
  const orphanStatements = (tenantType: string, leadType: string): OrphanStatements => {
    const leadKeys = `SELECT tenant::${tenantType}, lead::${leadType} FROM unnest($1::text[], $2::text[]) AS input(tenant, lead)`;
    const lockLeads = `
SELECT 1 FROM ${table} L
WHERE (L.${c.tenantId}, L.${c.leadId}) IN (${leadKeys})
ORDER BY ${inKeyOrder('L')}
FOR UPDATE OF L`;
    const lockAttempts = `
SELECT 1 FROM ${attempts} A
WHERE (A.tenant_id, A.attempt_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
ORDER BY A.tenant_id, A.attempt_id
FOR UPDATE OF A`;
    const live = `('claimed', 'unknown')`;
    // Cut off from its lead, a `placed` attempt is orphaned alone too, as `orphanDetachedAttempt` does.
    const detachable = `('claimed', 'placed', 'unknown')`;
    const orphan = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[])
    WITH ORDINALITY AS input(tenant, lead, attempt, fence, reason, lead_tenant, lead_key, position)
), decided AS (
  SELECT input.*, CASE
    WHEN L.${c.leadId} IS NULL OR L.${c.attemptId}::text IS DISTINCT FROM input.attempt THEN
      CASE WHEN A.state IN ${detachable} AND A.lead_id = input.lead
        THEN CASE WHEN L.${c.leadId} IS NULL THEN 'lead_gone' ELSE 'lead_moved_on' END
        ELSE 'unchanged' END
    WHEN coalesce(L.${c.fence}, 0) <> input.fence THEN 'unchanged'
    WHEN A.state IN ${live} THEN 'orphaned'
    ELSE 'unchanged'
  END AS outcome
  FROM input
  LEFT JOIN ${attempts} A ON A.tenant_id = input.tenant AND A.attempt_id = input.attempt
  LEFT JOIN ${table} L
    ON L.${c.tenantId} = input.lead_tenant::${tenantType} AND L.${c.leadId} = input.lead_key::${leadType}
), taken AS (
  UPDATE ${table} L SET ${c.callStatus} = 'orphaned', ${c.hasBeenCalled} = true,
    ${c.fence} = decided.fence + 1, ${c.provider} = A.provider, ${c.callId} = A.call_id,
    ${c.callOutcome} = A.outcome
  FROM decided JOIN ${attempts} A ON A.tenant_id = decided.tenant AND A.attempt_id = decided.attempt
  WHERE decided.outcome = 'orphaned'
    AND L.${c.tenantId} = decided.lead_tenant::${tenantType} AND L.${c.leadId} = decided.lead_key::${leadType}
  RETURNING decided.tenant, decided.attempt, decided.fence + 1 AS fence, decided.reason, decided.outcome
), changes AS (
  SELECT * FROM taken
  UNION ALL
  SELECT tenant, attempt, NULL::bigint, outcome, outcome FROM decided
  WHERE outcome IN ('lead_gone', 'lead_moved_on')
), orphaned AS (
  UPDATE ${attempts} A SET state = 'orphaned', updated_at = $8, lease_until = NULL,
    fence = coalesce(changes.fence, A.fence), reason = changes.reason
  FROM changes
  WHERE A.tenant_id = changes.tenant AND A.attempt_id = changes.attempt AND A.state IN ${detachable}
  RETURNING A.tenant_id, A.attempt_id, changes.outcome
)
SELECT coalesce(orphaned.outcome, 'unchanged') AS outcome
FROM decided LEFT JOIN orphaned
  ON orphaned.tenant_id = decided.tenant AND orphaned.attempt_id = decided.attempt
ORDER BY decided.position`;
    return {
      lockLeads: namedStatement(lockLeads),
      lockAttempts: namedStatement(lockAttempts),
      orphan: namedStatement(orphan),
    };
  };

  // Added leads arrive as text arrays and are cast to your columns' own types (a bigint or uuid
  // id, a varchar number…): INSERT … SELECT has no implicit cast from text to those. The types
  // are read from the catalog once, on the first add or lookup (again after a failed read).
  const addedColumns = ['tenantId', 'leadId', 'userId', 'phoneNumber', 'timeZone'] as const;
  type AddedColumn = (typeof addedColumns)[number];
  let columnTypes:
    | Promise<{
        insertSql: string;
        conflictsSql: string;
        types: Record<AddedColumn, string>;
        orphanStatements: OrphanStatements;
        recordSkips: (values: unknown[]) => PostgresQuery;
      }>
    | undefined;
  const readColumnTypes = () => {
    columnTypes ??= readPostgresColumnTypes(
      pool,
      table,
      addedColumns.map((field) => columnName[field]),
    ).then(
      (found) => {
        const of = (field: AddedColumn) =>
          found.get(columnName[field]) ?? { type: 'text', castType: 'text' };
        const [tenant, lead, owner, phone, zone] = addedColumns.map((field) => of(field).castType);
        // Cast without the modifier: the INSERT's own assignment to a varchar(n) refuses a longer
        // value (22001), where a cast to varchar(n) would cut it. In the order given: sorted by
        // key (an insert waits for another's uncommitted one of the same key, and for a write
        // holding the row).
        const insertSql = `INSERT INTO ${table} (${c.tenantId}, ${c.leadId}, ${c.userId}, ${c.phoneNumber}, ${c.timeZone}, ${c.callStatus}, ${c.hasBeenCalled})
          SELECT tenant::${tenant}, lead::${lead}, owner::${owner}, phone::${phone}, zone::${zone}, 'pending', false
          FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
            WITH ORDINALITY AS input(tenant, lead, owner, phone, zone, position)
          ORDER BY input.position
          ON CONFLICT DO NOTHING`;
        // Which of the leads given are another user's: read after the inserts, in a statement of
        // its own, so it sees a lead another transaction added while an insert waited for it.
        const conflictsSql = `SELECT input.position - 1 AS position
          FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS input(tenant, lead, owner, position)
          JOIN ${table} L ON L.${c.tenantId} = input.tenant::${tenant} AND L.${c.leadId} = input.lead::${lead}
          WHERE L.${c.userId} IS DISTINCT FROM input.owner::${owner}
          ORDER BY input.position`;
        // A batch of skips (the dialer's page), each by primary key: the keys arrive as text and
        // are cast to your columns' types; `pending` keeps the planner off the pending index. The
        // rows are locked first, in key order: an UPDATE … FROM takes them in whatever order its
        // plan reads them (the batch's, by primary key), and two batches (two dialers, a reload)
        // over the same leads in other orders deadlocked.
        const recordSkipsSql = `WITH locked AS (
            SELECT L.${c.tenantId} AS tenant, L.${c.leadId} AS lead, input.reason, input.at
            FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) AS input(tenant, lead, reason, at)
            JOIN ${table} L ON L.${c.tenantId} = input.tenant::${tenant} AND L.${c.leadId} = input.lead::${lead}
            WHERE ${pending('L')}
            ORDER BY ${inKeyOrder('L')}
            FOR UPDATE OF L
          )
          UPDATE ${table} L SET ${c.skipReason} = locked.reason, ${c.skippedAt} = locked.at
          FROM locked
          WHERE L.${c.tenantId} = locked.tenant AND L.${c.leadId} = locked.lead`;
        const types = Object.fromEntries(
          addedColumns.map((field) => [field, of(field).type]),
        ) as Record<AddedColumn, string>;
        return {
          insertSql,
          conflictsSql,
          types,
          orphanStatements: orphanStatements(tenant!, lead!),
          recordSkips: namedStatement(recordSkipsSql),
        };
      },
      (error: unknown) => {
        columnTypes = undefined;
        throw error;
      },
    );
    return columnTypes;
  };
  // Whether a lookup's values are ones your columns hold, spelled as PostgreSQL prints them: any
  // other finds no lead (and sent as it is, PostgreSQL would answer an error, not "none").
  const fits = async (values: Partial<Record<AddedColumn, string>>): Promise<boolean> => {
    const { types } = await readColumnTypes();
    return (Object.entries(values) as [AddedColumn, string | undefined][]).every(
      ([field, value]) => value === undefined || fitsPostgresType(value, types[field]),
    );
  };
  // The attempts table is the dialer's own, all text: a value with a NUL or a lone surrogate is
  // none of its values (sent as it is, PostgreSQL would answer 22021, an error, not "none").
  const textValues = (...values: (string | undefined)[]): boolean =>
    values.every((value) => value === undefined || fitsPostgresType(value, 'text'));
  const checkAfter = async (afterLeadId: string | undefined): Promise<void> => {
    if (afterLeadId !== undefined && !(await fits({ leadId: afterLeadId }))) {
      throw new InvalidArgumentError({
        message: `"after" is no lead id your table holds (${(await readColumnTypes()).types.leadId}).`,
      });
    }
  };

  const claimOne = namedStatement(claimOneSql);
  const claimMany = namedStatement(claimManySql);
  const lockLead = namedStatement(lockLeadSql);
  const lockAttempt = namedStatement(lockAttemptSql);
  const writeUpdate = namedStatement(writeUpdateSql);

  const store: LeadStore = {
    async addLeads(inputs) {
      const parsed = parseLeadInputs(inputs);
      if (parsed.length === 0) return { added: 0, existing: 0, conflicts: [] };
      let added = 0;
      const conflicts = new Map<string, { tenantId: string; leadId: string }>();
      let conflicting = 0;
      const { insertSql, conflictsSql, types } = await readColumnTypes();
      // A value your column cannot hold (an id that is no integer, no uuid, longer than its
      // varchar) or holds in another spelling (`007`, a uuid in capitals) is a bad lead: 400,
      // naming it, before anything is written.
      for (const [index, lead] of parsed.entries()) {
        for (const field of addedColumns) {
          const value = lead[field];
          const type = types[field];
          if (value !== undefined && !fitsPostgresType(value, type)) {
            const spelling = postgresSpelling(type);
            throw new InvalidLeadError({
              index,
              field,
              message:
                spelling === undefined
                  ? `does not fit your column (${type})`
                  : `must be a ${type} as PostgreSQL prints it (${spelling})`,
            });
          }
        }
      }
      // One transaction over the batches: a batch your table refuses adds nothing at all. The
      // leads go in key order, across the batches too (see `sortByLeadKey`).
      const inOrder = sortByLeadKey(parsed);
      const client = await checkOutPostgresClient(pool);
      let start = 0;
      try {
        await client.query('BEGIN');
        for (; start < parsed.length; start += 1000) {
          const batch = inOrder.slice(start, start + 1000).map((index) => parsed[index]!);
          const result = await client.query(insertSql, [
            batch.map((lead) => lead.tenantId),
            batch.map((lead) => lead.leadId),
            batch.map((lead) => lead.userId),
            batch.map((lead) => lead.phoneNumber),
            batch.map((lead) => lead.timeZone ?? null),
          ]);
          added += result.rowCount ?? 0;
        }
        // Every lead new: none can be another user's.
        if (added < parsed.length) {
          const { rows } = await client.query(conflictsSql, [
            parsed.map((lead) => lead.tenantId),
            parsed.map((lead) => lead.leadId),
            parsed.map((lead) => lead.userId),
          ]);
          conflicting = rows.length;
          for (const row of rows) {
            const { tenantId, leadId } = parsed[Number(row.position)]!;
            conflicts.set(`${tenantId}\u0000${leadId}`, { tenantId, leadId });
          }
        }
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        // A value your column refuses that the check above let through (a domain's length…).
        if (isRefusedValue(error)) {
          // PostgreSQL names no row: the refused batch's first lead, and the others.
          const refused = inOrder.slice(start, start + 1000).sort((a, b) => a - b);
          const first = refused[0]!;
          const last = refused[refused.length - 1]!;
          const others =
            refused.length === 1
              ? ''
              : refused.length === 2
                ? `(or lead ${last}) `
                : last - first === refused.length - 1
                  ? `(or one of leads ${first + 1}–${last}) `
                  : `(or one of ${refused.length - 1} later leads) `;
          throw new InvalidLeadError({
            index: first,
            field: 'lead',
            message: `${others}holds a value your table refuses (${(error as Error).message})`,
          });
        }
        throw error;
      } finally {
        client.release();
      }
      return {
        added,
        existing: parsed.length - added - conflicting,
        conflicts: [...conflicts.values()],
      };
    },

    async getLead(tenantId, leadId) {
      if (!(await fits({ tenantId, leadId }))) return undefined;
      const { rows } = await pool
        .query(
          `SELECT ${leadSelect('L')} FROM ${table} L WHERE L.${c.tenantId} = $1 AND L.${c.leadId} = $2`,
          [tenantId, leadId],
        )
        // A type the check above leaves to PostgreSQL (an oid id…) that cannot hold the id.
        .catch((error: unknown) => {
          if (isRefusedValue(error)) return { rows: [] };
          throw error;
        });
      return rows[0] ? decodeLead(rows[0]) : undefined;
    },

    async listPendingLeads({ tenantId, userId, afterLeadId, limit }) {
      await checkAfter(afterLeadId);
      if (!(await fits({ tenantId, userId }))) return [];
      const { rows } = await pool.query(
        `SELECT ${leadSelect('L')} FROM ${table} L
         WHERE L.${c.tenantId} = $1 AND L.${c.userId} = $2
           AND L.${c.callStatus} = 'pending' AND L.${c.hasBeenCalled} = false
           AND ($3::text IS NULL OR L.${c.leadId} > $5)
         ORDER BY L.${c.leadId} LIMIT $4`,
        // $5 is compared in the id column's own type (text, bigint, uuid…).
        [tenantId, userId, afterLeadId ?? null, limit, afterLeadId ?? null],
      );
      return rows.map(decodeLead);
    },

    async listLeads({ tenantId, userId, afterLeadId, limit }) {
      await checkAfter(afterLeadId);
      if (!(await fits({ tenantId, userId }))) return [];
      const { rows } = await pool.query(
        `SELECT ${leadSelect('L')} FROM ${table} L
         WHERE L.${c.tenantId} = $1 AND L.${c.userId} = $2
           AND ($3::text IS NULL OR L.${c.leadId} > $5)
         ORDER BY L.${c.leadId} LIMIT $4`,
        [tenantId, userId, afterLeadId ?? null, limit, afterLeadId ?? null],
      );
      return rows.map(decodeLead);
    },

    async claimLeads(request) {
      const asked = [...new Set(request.leadIds)];
      if (asked.length === 0) return [];
      // Another spelling of a lead (`007` for 7) is no lead here: claimed under it, its results
      // and attempts would be filed under a string no lead has.
      const { types } = await readColumnTypes();
      const leadIds = fitsPostgresType(request.tenantId, types.tenantId)
        ? asked.filter((leadId) => fitsPostgresType(leadId, types.leadId))
        : [];
      const notFound = (leadId: string): ClaimResult => ({
        leadId,
        claimed: false,
        reason: 'not_found',
      });
      if (leadIds.length === 0) return asked.map(notFound);
      const single = leadIds.length === 1;
      const checked =
        request.checked === undefined
          ? null
          : JSON.stringify(
              Object.fromEntries(
                request.checked.map((lead) => [
                  lead.leadId,
                  [lead.userId, lead.phoneNumber, lead.timeZone ?? null],
                ]),
              ),
            );
      const { rows } = await pool.query(
        (single ? claimOne : claimMany)([
          request.tenantId,
          single ? leadIds[0] : leadIds,
          new Date(request.now),
          new Date(request.now + request.leaseMs),
          request.maxAttempts ?? null,
          request.minAttemptGapMs === undefined
            ? null
            : new Date(request.now - request.minAttemptGapMs),
          request.claimedBy,
          checked,
        ]),
      );
      const claimed = new Map<string, ClaimResult>();
      for (const row of rows) {
        const leadId = String(row.lead);
        const attemptId = String(row.attempt);
        const fence = Number(row.fence);
        const tenantId = String(row.tenant);
        const userId = String(row.owner);
        claimed.set(leadId, {
          leadId,
          claimed: true,
          lead: claimedLead(
            request,
            {
              tenantId,
              leadId,
              userId,
              phoneNumber: text(row.phone) ?? '',
              timeZone: text(row.zone),
            },
            { attemptId, fence, attemptCount: Number(row.attempts) },
          ),
          attempt: claimedAttempt(request, { leadId, userId, attemptId, fence }),
        });
      }
      const missing = leadIds.filter((leadId) => !claimed.has(leadId));
      const reasons = new Map<string, ClaimRefusal>();
      if (missing.length > 0) {
        const why = await pool.query(whyNotSql, [request.tenantId, missing, checked]);
        for (const row of why.rows) {
          const lastAttempt = row.last_attempt as Date | null;
          reasons.set(
            row.lead as string,
            row.status !== 'pending' || row.called !== false
              ? 'not_pending'
              : request.maxAttempts !== undefined && Number(row.attempts) >= request.maxAttempts
                ? 'attempt_cap'
                : request.minAttemptGapMs !== undefined &&
                    lastAttempt !== null &&
                    request.now - lastAttempt.getTime() < request.minAttemptGapMs
                  ? 'too_soon'
                  : row.as_checked === false
                    ? 'changed'
                    : 'busy',
          );
        }
      }
      return asked.map((leadId) => {
        const reason = reasons.get(leadId);
        return (
          claimed.get(leadId) ??
          (reason === undefined ? notFound(leadId) : { leadId, claimed: false, reason })
        );
      });
    },

    async updateAttempt(update) {
      if (
        !textValues(update.attemptId) ||
        !(await fits({ tenantId: update.tenantId, leadId: update.leadId }))
      ) {
        return applyAttemptUpdate(undefined, undefined, update);
      }
      const client = await checkOutPostgresClient(pool);
      try {
        await client.query('BEGIN');
        const leadRows = (await client.query(lockLead([update.tenantId, update.leadId]))).rows;
        const attemptRows =
          leadRows[0] === undefined
            ? []
            : (await client.query(lockAttempt([update.tenantId, update.attemptId]))).rows;
        const result = applyAttemptUpdate(
          leadRows[0] ? decodeLead(leadRows[0]) : undefined,
          attemptRows[0] ? decodeAttempt(attemptRows[0]) : undefined,
          update,
        );
        if (result.applied) {
          const { lead, attempt } = result;
          await client.query(
            writeUpdate([
              update.tenantId,
              update.leadId,
              lead.callStatus,
              lead.hasBeenCalled,
              lead.fence,
              lead.provider ?? null,
              lead.callId ?? null,
              lead.callOutcome ?? null,
              attempt.attemptId,
              attempt.state,
              new Date(attempt.updatedAt),
              attempt.leaseUntil === undefined ? null : new Date(attempt.leaseUntil),
              attempt.reason ?? null,
              // $1 again, as text: $1 itself is typed by your tenant column.
              update.tenantId,
            ]),
          );
        }
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    async recordSkips(skips) {
      const { types, recordSkips } = await readColumnTypes();
      // Each lead once, with its last skip: an UPDATE … FROM changes a row once, by any one of
      // its matches. A key your columns cannot hold names no lead.
      const last = new Map<string, LeadSkip>();
      for (const skip of skips) {
        if (
          !fitsPostgresType(skip.tenantId, types.tenantId) ||
          !fitsPostgresType(skip.leadId, types.leadId)
        ) {
          continue;
        }
        const key = `${skip.tenantId}\u0000${skip.leadId}`;
        last.delete(key);
        last.set(key, skip);
      }
      if (last.size === 0) return;
      const batch = [...last.values()];
      await pool.query(
        recordSkips([
          batch.map((skip) => skip.tenantId),
          batch.map((skip) => skip.leadId),
          batch.map((skip) => skip.reason),
          batch.map((skip) => new Date(skip.now)),
        ]),
      );
    },

    async getAttempt(tenantId, attemptId) {
      if (!textValues(tenantId, attemptId)) return undefined;
      const { rows } = await pool.query(
        `SELECT ${attemptColumns} FROM ${attempts} WHERE tenant_id = $1 AND attempt_id = $2`,
        [tenantId, attemptId],
      );
      return rows[0] ? decodeAttempt(rows[0]) : undefined;
    },

    async findAttemptByCall(tenantId, provider, callId) {
      // A provider's call id is whatever its webhook said: one with a NUL links no attempt.
      if (!textValues(tenantId, provider, callId)) return undefined;
      const { rows } = await pool.query(
        `SELECT ${attemptColumns} FROM ${attempts}
         WHERE tenant_id = $1 AND provider = $2 AND call_id = $3
         ORDER BY claimed_at DESC LIMIT 1`,
        [tenantId, provider, callId],
      );
      return rows[0] ? decodeAttempt(rows[0]) : undefined;
    },

    async listExpiredAttempts({ now, limit }) {
      const { rows } = await pool.query(
        `SELECT ${attemptColumns} FROM ${attempts}
         WHERE state IN ('claimed', 'unknown') AND lease_until <= $1
         ORDER BY lease_until LIMIT $2`,
        [new Date(now), limit],
      );
      return rows.map(decodeAttempt);
    },

    async listPlacedAttempts({ updatedBefore, claimedAfter, limit }) {
      const { rows } = await pool.query(
        `SELECT ${attemptColumns} FROM ${attempts}
         WHERE state = 'placed' AND updated_at <= $1 AND claimed_at > $2
         ORDER BY updated_at LIMIT $3`,
        [new Date(updatedBefore), new Date(claimedAfter), limit],
      );
      return rows.map(decodeAttempt);
    },

    async orphanDetachedAttempt({ tenantId, leadId, attemptId, now, reason, call }) {
      // Cut off for good: only a claim points a lead at an attempt, and it makes a new one.
      if (!textValues(tenantId, attemptId, leadId)) return undefined;
      // A lead id your table cannot hold names no lead that points at the attempt (NULL: none).
      const lead = (await fits({ tenantId, leadId })) ? [tenantId, leadId] : [null, null];
      const { rows } = await pool.query(
        `UPDATE ${attempts} A SET state = 'orphaned', updated_at = $4, lease_until = NULL, reason = $5,
           call_id = coalesce($8, A.call_id), outcome = coalesce($9, A.outcome)
         WHERE A.tenant_id = $1 AND A.attempt_id = $2 AND A.lead_id = $3 AND A.state IN ('claimed', 'placed', 'unknown')
           AND NOT EXISTS (SELECT 1 FROM ${table} L
             WHERE L.${c.tenantId} = $6 AND L.${c.leadId} = $7 AND L.${c.attemptId} = A.attempt_id)
         RETURNING ${attemptColumns}`,
        // $6 and $7 are $1 and $3 in your columns' own types; $8 and $9 what a lookup learned.
        [
          tenantId,
          attemptId,
          leadId,
          new Date(now),
          reason,
          ...lead,
          call?.callId ?? null,
          call?.outcome ?? null,
        ],
      );
      return rows[0] ? decodeAttempt(rows[0]) : undefined;
    },

    async orphanExpiredAttempts({ now, attempts: expired }) {
      const outcomes: ExpiredAttemptOutcome[] = expired.map(() => 'unchanged');
      // Once each (a repeat would be written twice in one statement); an attempt a text column
      // cannot hold (a NUL) names no attempt here.
      const sent = new Map<string, number>();
      for (const [index, attempt] of expired.entries()) {
        const key = `${attempt.tenantId}\u0000${attempt.attemptId}`;
        if (sent.has(key) || !textValues(attempt.tenantId, attempt.leadId, attempt.attemptId)) {
          continue;
        }
        sent.set(key, index);
      }
      if (sent.size === 0) return outcomes;
      const { types, orphanStatements: statements } = await readColumnTypes();
      const batch = [...sent.values()].map((index) => expired[index]!);
      // A lead key your columns cannot hold names no lead (the attempt's lead is gone).
      const leadKeys = batch.map((attempt) =>
        fitsPostgresType(attempt.tenantId, types.tenantId) &&
        fitsPostgresType(attempt.leadId, types.leadId)
          ? attempt
          : undefined,
      );
      const client = await checkOutPostgresClient(pool);
      try {
        await client.query('BEGIN');
        await client.query(
          statements.lockLeads([
            leadKeys.flatMap((key) => (key ? [key.tenantId] : [])),
            leadKeys.flatMap((key) => (key ? [key.leadId] : [])),
          ]),
        );
        await client.query(
          statements.lockAttempts([
            batch.map((attempt) => attempt.tenantId),
            batch.map((attempt) => attempt.attemptId),
          ]),
        );
        const { rows } = await client.query(
          statements.orphan([
            batch.map((attempt) => attempt.tenantId),
            batch.map((attempt) => attempt.leadId),
            batch.map((attempt) => attempt.attemptId),
            batch.map((attempt) => attempt.fence),
            batch.map((attempt) => attempt.reason),
            leadKeys.map((key) => key?.tenantId ?? null),
            leadKeys.map((key) => key?.leadId ?? null),
            new Date(now),
          ]),
        );
        await client.query('COMMIT');
        for (const [position, index] of [...sent.values()].entries()) {
          outcomes[index] = rows[position]!.outcome as ExpiredAttemptOutcome;
        }
        return outcomes;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },

    async listAttempts({ tenantId, state, userId, limit }) {
      if (!textValues(tenantId, state, userId)) return [];
      const { rows } = await pool.query(
        `SELECT ${attemptColumns} FROM ${attempts}
         WHERE tenant_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR user_id = $3)
         ORDER BY claimed_at DESC LIMIT $4`,
        [tenantId, state ?? null, userId ?? null, limit],
      );
      return rows.map(decodeAttempt);
    },

    async countLiveAttempts({ tenantId, userId, since }) {
      if (!textValues(tenantId, userId)) return 0;
      const { rows } = await pool.query(
        `SELECT count(*)::integer AS live FROM ${attempts}
         WHERE tenant_id = $1 AND user_id = $2 AND state IN ('claimed', 'placed', 'unknown')
           AND claimed_at >= $3`,
        [tenantId, userId, new Date(since)],
      );
      return Number(rows[0]?.live ?? 0);
    },
  };
  // A connection PostgreSQL refused or ended (a restart, a failover, pg_terminate_backend) is an
  // outage: `DatabaseUnavailableError`, 503 with Retry-After at the dialer's API; a run stops on
  // it (`stoppedBy: 'error'`) and the next trigger starts again. Anything else stays as it is.
  return catchPostgresStoreErrors(store);
}

/** The lead fields that are strings (whatever your column's type), read as text. */
const textFields: ReadonlySet<LeadColumn> = new Set<LeadColumn>([
  'tenantId',
  'leadId',
  'userId',
  'phoneNumber',
  'timeZone',
  'callStatus',
  'attemptId',
  'provider',
  'callId',
  'callOutcome',
  'skipReason',
]);

// What PostgreSQL answers for a value its column cannot hold: too long, out of range, unreadable.
const refusedValueCodes = new Set(['22001', '22003', '22007', '22008', '22P02']);
const isRefusedValue = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  refusedValueCodes.has(String((error as { code?: unknown }).code));

const text = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);
const time = (value: unknown): number | undefined =>
  value instanceof Date ? value.getTime() : value == null ? undefined : Date.parse(String(value));

function decodeLead(row: Row): Lead {
  return {
    tenantId: String(row.l_tenantId),
    leadId: String(row.l_leadId),
    // A malformed row without an owner reads as owned by nobody ('' on every store), not "null".
    userId: text(row.l_userId) ?? '',
    phoneNumber: text(row.l_phoneNumber) ?? '',
    timeZone: text(row.l_timeZone),
    callStatus: String(row.l_callStatus) as LeadCallStatus,
    hasBeenCalled: row.l_hasBeenCalled === true,
    attemptCount: Number(row.l_attemptCount ?? 0),
    lastAttemptAt: time(row.l_lastAttemptAt),
    attemptId: text(row.l_attemptId),
    fence: Number(row.l_fence ?? 0),
    provider: text(row.l_provider),
    callId: text(row.l_callId),
    callOutcome: text(row.l_callOutcome) as CallStatus | undefined,
    skipReason: text(row.l_skipReason),
    skippedAt: time(row.l_skippedAt),
  };
}

function decodeAttempt(row: Row): LeadAttempt {
  return {
    tenantId: String(row.tenant_id),
    leadId: String(row.lead_id),
    userId: String(row.user_id),
    attemptId: String(row.attempt_id),
    fence: Number(row.fence),
    state: String(row.state) as AttemptState,
    claimedAt: time(row.claimed_at) ?? 0,
    leaseUntil: time(row.lease_until),
    updatedAt: time(row.updated_at) ?? 0,
    provider: text(row.provider),
    callId: text(row.call_id),
    outcome: text(row.outcome) as CallStatus | undefined,
    reason: text(row.reason),
    claimedBy: text(row.claimed_by),
  };
}

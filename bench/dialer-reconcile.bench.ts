// The dialer's reconciler on PostgreSQL: how long it takes to orphan 500 and 5,000 expired
// attempts (claims a crashed process left), pass after pass of `dialer.reconcile()` until none is
// left, against a bare `UPDATE … RETURNING` of the same rows (500 attempts and their leads per
// statement, no checks, no locks: the floor of the writes), and how many statements each sent.
// Uses the machine's PostgreSQL (skipped if absent).
//   node --import tsx --conditions=@calltrack/source bench/dialer-reconcile.bench.ts
import { createDialer, type LeadStore } from '@calltrack/dialer';
import { createPostgresLeadStore, postgresLeadStoreMigration } from '@calltrack/dialer/postgres';
import { connectTestPostgres, uniqueTableName } from '@calltrack/test-utils';
import type pg from 'pg';
import { printTable, ratio } from './lib/report';

const sizes = [500, 5_000];
const rounds = 3;
const t0 = Date.parse('2026-03-02T15:00:00.000Z');
const leaseMs = 60_000;

/** A pool that counts the statements sent through it and through the clients it lends. */
function countingPool(pool: pg.Pool): { pool: pg.Pool; statements: () => number } {
  let statements = 0;
  const counted = {
    query: (...args: Parameters<pg.Pool['query']>) => {
      statements += 1;
      return (pool.query as (...a: unknown[]) => unknown)(...args);
    },
    connect: async () => {
      const client = await pool.connect();
      return {
        query: (...args: unknown[]) => {
          statements += 1;
          return (client.query as (...a: unknown[]) => unknown).apply(client, args);
        },
        release: () => client.release(),
      };
    },
  } as unknown as pg.Pool;
  return { pool: counted, statements: () => statements };
}

/** `count` leads claimed at t0 by a process that then died: every attempt expires at t0 + lease. */
async function leaveExpiredClaims(store: LeadStore, count: number, run: string): Promise<void> {
  const leadIds = Array.from(
    { length: count },
    (_, index) => `${run}-${String(index).padStart(6, '0')}`,
  );
  await store.addLeads(
    leadIds.map((leadId) => ({
      tenantId: 'bench',
      leadId,
      userId: `user-${leadId.length % 7}`,
      phoneNumber: '+14155550100',
    })),
  );
  for (let start = 0; start < count; start += 500) {
    const claims = await store.claimLeads({
      tenantId: 'bench',
      leadIds: leadIds.slice(start, start + 500),
      now: t0,
      leaseMs,
      claimedBy: 'crashed',
    });
    if (!claims.every((claim) => claim.claimed)) throw new Error('not every lead was claimed');
  }
}

const pool = await connectTestPostgres({ max: 4 });
if (!pool) {
  console.log('PostgreSQL not reachable: the reconciler was not measured.');
  process.exit(0);
}
const table = uniqueTableName('bench_reconcile');
const attemptsTable = `${table}_attempts`;
try {
  await pool.query(postgresLeadStoreMigration({ table, attemptsTable }));
  const rows: Record<string, string | number>[] = [];
  for (const size of sizes) {
    let bareBest = Number.POSITIVE_INFINITY;
    let bareStatements = 0;
    let reconcileBest = Number.POSITIVE_INFINITY;
    let reconcileStatements = 0;
    for (let round = 0; round < rounds; round += 1) {
      // The floor: the same rows written by one bare statement per 500, nothing checked.
      const counting = countingPool(pool);
      const store = createPostgresLeadStore({ pool: counting.pool, table, attemptsTable });
      await leaveExpiredClaims(store, size, `bare-${size}-${round}`);
      await pool.query('ANALYZE');
      let before = counting.statements();
      let started = performance.now();
      for (;;) {
        const { rowCount } = await counting.pool.query(
          `WITH expired AS (
             SELECT attempt_id FROM "${attemptsTable}"
             WHERE state IN ('claimed', 'unknown') AND lease_until <= $1
             ORDER BY lease_until LIMIT 500
           ), attempt AS (
             UPDATE "${attemptsTable}" A SET state = 'orphaned', fence = A.fence + 1, lease_until = NULL,
               updated_at = $1, reason = 'lease_expired'
             FROM expired WHERE A.attempt_id = expired.attempt_id
             RETURNING A.tenant_id, A.lead_id
           )
           UPDATE "${table}" L SET call_status = 'orphaned', dialer_fence = L.dialer_fence + 1
           FROM attempt WHERE L.tenant_id = attempt.tenant_id AND L.id = attempt.lead_id
           RETURNING L.id`,
          [new Date(t0 + 2 * leaseMs)],
        );
        if (rowCount === 0) break;
      }
      bareBest = Math.min(bareBest, performance.now() - started);
      bareStatements = counting.statements() - before;

      // The reconciler, pass after pass until nothing is left to orphan.
      await leaveExpiredClaims(store, size, `reconcile-${size}-${round}`);
      await pool.query('ANALYZE');
      const dialer = createDialer({
        store,
        bus: { publish: async () => ({ duplicate: false }) },
        accounts: [
          {
            id: 'bench',
            control: {
              provider: 'bench',
              placeCall: async () => {
                throw new Error('the reconciler never dials');
              },
              terminateCall: async () => {},
            },
          },
        ],
        clock: { now: () => t0 + 2 * leaseMs, sleep: async () => {} },
        logger: {},
      });
      before = counting.statements();
      started = performance.now();
      let orphaned = 0;
      for (;;) {
        const report = await dialer.reconcile();
        if (report.orphaned === 0) break;
        orphaned += report.orphaned;
      }
      reconcileBest = Math.min(reconcileBest, performance.now() - started);
      reconcileStatements = counting.statements() - before;
      if (orphaned !== size) throw new Error(`orphaned ${orphaned} of ${size}`);
    }
    rows.push(
      {
        what: `bare UPDATE … RETURNING, 500 a statement (baseline), ${size}`,
        ms: Math.round(bareBest),
        statements: bareStatements,
        ratio: 1,
      },
      {
        what: `dialer.reconcile() until none is left, ${size}`,
        ms: Math.round(reconcileBest),
        statements: reconcileStatements,
        ratio: ratio(reconcileBest, bareBest),
      },
    );
  }
  printTable(
    `Orphaning expired claims on PostgreSQL (best of ${rounds} rounds; ratio: time over the baseline's)`,
    rows,
  );
} finally {
  await pool.query(`DROP TABLE IF EXISTS "${table}", "${attemptsTable}"`);
  await pool.end();
}

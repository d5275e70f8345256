// A process whose PostgreSQL connection is dropped (a restart, a failover, an administrator's
// pg_terminate_backend) while the lead store holds it for a fenced write. Prints the write's
// rejection, then "alive" once the dropped connection had time to report its end: the process
// must survive it (a client checked out of a `pg` pool that reports an error to no listener
// throws it as an uncaught exception).
import pg from 'pg';
import { createPostgresLeadStore } from '../create-postgres-lead-store';
import { postgresLeadStoreMigration } from '../postgres-lead-store-migration';

const [postgresUrl, table] = process.argv.slice(2) as [string, string];
const attemptsTable = `${table}_attempts`;
// The app's pool, set up as pg's documentation says: idle clients' errors are handled.
// Named, so the test ends this process's connection and no other's.
const pool = new pg.Pool({ connectionString: postgresUrl, max: 2, application_name: table });
pool.on('error', () => {});
const admin = new pg.Client({ connectionString: postgresUrl });
await admin.connect();
await admin.query(postgresLeadStoreMigration({ table, attemptsTable }));
const store = createPostgresLeadStore({ pool, table, attemptsTable });
const now = Date.parse('2026-03-02T15:00:00.000Z');
await store.addLeads([
  { tenantId: 'acme', leadId: 'a', userId: 'u1', phoneNumber: '+14155550100' },
]);
const [claim] = await store.claimLeads({
  tenantId: 'acme',
  leadIds: ['a'],
  now,
  leaseMs: 60_000,
  claimedBy: 'test',
});
if (!claim?.claimed) throw new Error('not claimed');
// The test holds the lead's row: the store's write waits for it, in its own transaction.
await admin.query('BEGIN');
await admin.query(`SELECT 1 FROM ${table} WHERE tenant_id = 'acme' AND id = 'a' FOR UPDATE`);
const write = store.updateAttempt({
  tenantId: 'acme',
  leadId: 'a',
  attemptId: claim.attempt.attemptId,
  fence: claim.attempt.fence,
  state: 'placed',
  now: now + 1_000,
  provider: 'twilio',
  callId: 'CA1',
});
write.catch(() => {});
for (;;) {
  const { rows } = await admin.query(
    `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
    [table],
  );
  if (rows.length > 0) {
    await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
    break;
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await write.then(
  () => console.log('applied'),
  (error: Error) => console.log(`rejected ${error.message}`),
);
await admin.query('ROLLBACK');
await new Promise((resolve) => setTimeout(resolve, 300));
await admin.query(`DROP TABLE IF EXISTS ${table}, ${attemptsTable}`);
await admin.end();
await pool.end();
console.log('alive');

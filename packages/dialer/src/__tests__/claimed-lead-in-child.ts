// The setup of the child processes that end a lead store's PostgreSQL connection: the app's pool,
// set up as pg's documentation says (idle clients' errors are handled) and named after the table,
// so the test ends this process's connections and no other's; a lead claimed for a fenced write.
import pg from 'pg';
import { createPostgresLeadStore } from '../create-postgres-lead-store';
import { postgresLeadStoreMigration } from '../postgres-lead-store-migration';

export async function claimedLeadInChild(postgresUrl: string, table: string, poolSize: number) {
  const attemptsTable = `${table}_attempts`;
  const pool = new pg.Pool({
    connectionString: postgresUrl,
    max: poolSize,
    application_name: table,
  });
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
  /** The write the test's connection drop lands on: the claimed call, placed. */
  const placeCall = () =>
    store.updateAttempt({
      tenantId: 'acme',
      leadId: 'a',
      attemptId: claim.attempt.attemptId,
      fence: claim.attempt.fence,
      state: 'placed',
      now: now + 1_000,
      provider: 'twilio',
      callId: 'CA1',
    });
  /** Prints how the write ended, then, once the dropped connection had time to report its end, "alive". */
  const reportAndEnd = async (write: Promise<unknown>, beforeEnd?: () => Promise<unknown>) => {
    await write.then(
      () => console.log('applied'),
      (error: Error) => console.log(`rejected ${error.message}`),
    );
    await beforeEnd?.();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await admin.query(`DROP TABLE IF EXISTS ${table}, ${attemptsTable}`);
    await admin.end();
    await pool.end();
    console.log('alive');
  };
  return { pool, admin, placeCall, reportAndEnd };
}

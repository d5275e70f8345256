// A process whose PostgreSQL connection is ended (pg_terminate_backend, a restart, a failover)
// just as the pool hands it to the lead store for a transaction: `pg` reads the answer of the
// query that held the connection and PostgreSQL's FATAL in one read, and the pool hands the
// connection over between the two. Prints the write's rejection, then "alive": the process must
// survive it (an `error` event no one listens for ends it).
import type { Socket } from 'node:net';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import pg from 'pg';
import { createPostgresLeadStore } from '../create-postgres-lead-store';
import { postgresLeadStoreMigration } from '../postgres-lead-store-migration';

const [postgresUrl, table] = process.argv.slice(2) as [string, string];
const attemptsTable = `${table}_attempts`;
// The app's pool, set up as pg's documentation says: idle clients' errors are handled. One
// connection, named, so the test ends this process's connection and no other's.
const pool = new pg.Pool({ connectionString: postgresUrl, max: 1, application_name: table });
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

// Another query of the app holds the one connection. Its socket is not read from the moment the
// pool hands it over, so its answer and what follows it arrive together.
let socket: Socket | undefined;
pool.once('acquire', (client: pg.PoolClient) => {
  socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
  socket.pause();
});
const handOver = "SELECT 'hand-over' AS step";
const answered = pool.query(handOver);
// The store's write waits for that connection.
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
while (pool.waitingCount === 0) await yieldToIo();
// PostgreSQL answered that query (its backend is idle after it, not before it: the state is
// reported with the query's text): end the backend, and wait until it is gone, its FATAL sent
// behind the answer.
const backend = async () =>
  (
    await admin.query(
      'SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1',
      [table],
    )
  ).rows[0] as { pid: number; state: string; query: string } | undefined;
for (
  let found = await backend();
  found?.state !== 'idle' || found.query !== handOver;
  found = await backend()
) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
await admin.query(
  'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
  [table],
);
while ((await backend()) !== undefined) await new Promise((resolve) => setTimeout(resolve, 10));
// The answer, then the FATAL, in one go: the pool hands the connection to the write in between.
socket!.resume();
await answered;
await write.then(
  () => console.log('applied'),
  (error: Error) => console.log(`rejected ${error.message}`),
);
await new Promise((resolve) => setTimeout(resolve, 300));
await admin.query(`DROP TABLE IF EXISTS ${table}, ${attemptsTable}`);
await admin.end();
await pool.end();
console.log('alive');

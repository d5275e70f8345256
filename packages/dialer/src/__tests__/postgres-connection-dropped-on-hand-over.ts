// A process whose PostgreSQL connection is ended (pg_terminate_backend, a restart, a failover)
// just as the pool hands it to the lead store for a transaction: `pg` reads the answer of the
// query that held the connection and PostgreSQL's FATAL in one read, and the pool hands the
// connection over between the two. Prints the write's rejection, then "alive": the process must
// survive it (an `error` event no one listens for ends it).
import type { Socket } from 'node:net';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import type pg from 'pg';
import { claimedLeadInChild } from './claimed-lead-in-child';

const [postgresUrl, table] = process.argv.slice(2) as [string, string];
// One connection, so the write waits for the one another query holds.
const { pool, admin, placeCall, reportAndEnd } = await claimedLeadInChild(postgresUrl, table, 1);
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
const write = placeCall();
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
await reportAndEnd(write);

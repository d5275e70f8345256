// A process whose PostgreSQL connection is dropped (a restart, a failover, an administrator's
// pg_terminate_backend) while the lead store holds it for a fenced write. Prints the write's
// rejection, then "alive" once the dropped connection had time to report its end: the process
// must survive it (a client checked out of a `pg` pool that reports an error to no listener
// throws it as an uncaught exception).
import { claimedLeadInChild } from './claimed-lead-in-child';

const [postgresUrl, table] = process.argv.slice(2) as [string, string];
const { admin, placeCall, reportAndEnd } = await claimedLeadInChild(postgresUrl, table, 2);
// The test holds the lead's row: the store's write waits for it, in its own transaction.
await admin.query('BEGIN');
await admin.query(`SELECT 1 FROM ${table} WHERE tenant_id = 'acme' AND id = 'a' FOR UPDATE`);
const write = placeCall();
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
await reportAndEnd(write, () => admin.query('ROLLBACK'));

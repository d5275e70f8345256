import type { EventEmitter } from 'node:events';
import type { PostgresPool, PostgresPoolClient } from './postgres-pool';

/**
 * Checks a connection out of `pool` for a transaction, listening for its errors until it is
 * released. A `pg` client checked out of its pool reports a dropped connection (a restart, a
 * failover, `pg_terminate_backend`) as an `error` event besides rejecting the statement in
 * flight, and an `error` event no one listens for ends the process; the pool's own listener
 * hears a client again only once it is released. The rejection is what the store goes by.
 */
export async function checkOutPostgresClient(pool: PostgresPool): Promise<PostgresPoolClient> {
  const client = await pool.connect();
  const events = client as Partial<Pick<EventEmitter, 'on' | 'removeListener'>>;
  if (typeof events.on !== 'function' || typeof events.removeListener !== 'function') {
    return client;
  }
  const heard = (): void => {};
  events.on('error', heard);
  return {
    query: (query, values) => client.query(query, values),
    release: () => {
      events.removeListener?.('error', heard);
      client.release();
    },
  };
}

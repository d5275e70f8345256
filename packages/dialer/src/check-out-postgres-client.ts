import type { EventEmitter } from 'node:events';
import type { PostgresPool, PostgresPoolClient } from './postgres-pool';

type ConnectCallback = (error: unknown, client?: PostgresPoolClient) => void;

/**
 * Checks a connection out of `pool` for a transaction, listening for its errors until it is
 * released. A `pg` client checked out of its pool reports a dropped connection (a restart, a
 * failover, `pg_terminate_backend`) as an `error` event besides rejecting the statement in
 * flight, and an `error` event no one listens for ends the process; the pool's own listener
 * hears a client again only once it is released. The rejection is what the store goes by.
 *
 * The listener goes on in `pool.connect`'s callback, as the pool hands the connection over: a
 * promise's continuation comes too late when the pool hands over a connection another query just
 * released, in the middle of reading that query's answer, and PostgreSQL's FATAL follows it in
 * the same read. A pool whose `connect` takes no callback and answers a promise is listened to
 * once that promise resolves.
 */
export function checkOutPostgresClient(pool: PostgresPool): Promise<PostgresPoolClient> {
  return new Promise((resolve, reject) => {
    let taken = false;
    const take = (client: PostgresPoolClient): void => {
      if (taken) return;
      taken = true;
      resolve(listenForErrors(client));
    };
    const answer = (pool.connect as (callback: ConnectCallback) => unknown)((error, client) => {
      if (error != null || client === undefined) reject(error);
      else take(client);
    });
    if (isThenable(answer)) answer.then(take, reject);
  });
}

function listenForErrors(client: PostgresPoolClient): PostgresPoolClient {
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

function isThenable(value: unknown): value is PromiseLike<PostgresPoolClient> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

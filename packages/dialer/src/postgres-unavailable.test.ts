// Which PostgreSQL failures are an outage (503 database_unavailable): the ones the real server
// is not made to give in the tests (a connection cut without a FATAL, a server starting up, a
// name resolved to two refusing addresses), beside the ones that stay errors.
import { describe, expect, it } from 'vitest';
import { postgresUnavailableReason, toPostgresStoreError } from './postgres-unavailable';

const withCode = (message: string, code: string): Error =>
  Object.assign(new Error(message), { code });

describe('postgresUnavailableReason', () => {
  it('names a connection that could not be made or was ended', () => {
    expect(postgresUnavailableReason(new Error('Connection terminated unexpectedly'))).toBe(
      'connection terminated',
    );
    expect(postgresUnavailableReason(withCode('read ECONNRESET', 'ECONNRESET'))).toBe('ECONNRESET');
    expect(postgresUnavailableReason(withCode('the database system is starting up', '57P03'))).toBe(
      'SQLSTATE 57P03',
    );
    expect(postgresUnavailableReason(withCode('connection failure', '08006'))).toBe(
      'SQLSTATE 08006',
    );
    const refused = withCode('connect ECONNREFUSED ::1:1', 'ECONNREFUSED');
    expect(postgresUnavailableReason(new AggregateError([refused], ''))).toBe('ECONNREFUSED');
  });

  it('leaves every other failure an error (a 500 that reveals nothing)', () => {
    for (const error of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "leads" does not exist', '42P01'),
      withCode('canceling statement due to statement timeout', '57014'),
      new Error('Cannot use a pool after calling end on the pool'),
      'Connection terminated',
    ]) {
      expect(postgresUnavailableReason(error)).toBeUndefined();
      expect(toPostgresStoreError(error)).toBe(error);
    }
  });
});

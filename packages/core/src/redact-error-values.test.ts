import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redactErrorValues } from './redact-error-values';
import { toError } from './to-error';

/** What ioredis rejects a refused command with: a ReplyError carrying the command it ran. */
class ReplyError extends Error {
  override name = 'ReplyError';
  command?: { name: string; args: unknown[] };
}

function refused(args: unknown[] = ['ep:1', 'settings', '{"secret":"whsec_abc"}']): ReplyError {
  const error = new ReplyError("OOM command not allowed when used memory > 'maxmemory'.");
  error.command = { name: 'hset', args };
  return error;
}

/** A pg DatabaseError as pg-protocol builds it. */
function databaseError(code: string, detail: string): Error {
  return Object.assign(new Error('violates a constraint'), {
    name: 'error',
    severity: 'ERROR',
    code,
    detail,
  });
}

describe('redactErrorValues', () => {
  it('keeps the command name and argument count of a refused Redis command, not the arguments', () => {
    const error = refused();
    const { message, stack } = error;
    redactErrorValues(error);
    expect(error.command).toEqual({ name: 'hset', argumentCount: 3 });
    expect(error.message).toBe(message);
    expect(error.stack).toBe(stack);
    expect(error).toBeInstanceOf(ReplyError);
    expect(inspect(error, { depth: Number.POSITIVE_INFINITY })).not.toContain('whsec_abc');
  });

  it('reaches the errors an error carries: cause chains, AggregateError, previousErrors, any own property', () => {
    const inCause = refused(['a-secret']);
    const wrapped = new Error('publish failed', {
      cause: new Error('the script failed', { cause: inCause }),
    });
    const inAggregate = refused(['b-secret']);
    const aggregate = new AggregateError([new Error('fine'), inAggregate], 'both failed');
    // ioredis's EXECABORT carries the refused commands of the transaction as previousErrors; a
    // ClusterAllFailedError its lastNodeError.
    const inPrevious = refused(['c-secret']);
    const execAbort = Object.assign(new ReplyError('EXECABORT Transaction discarded'), {
      previousErrors: [inPrevious],
    });
    const inLastNode = refused(['d-secret']);
    const clusterFailed = Object.assign(new Error('Failed to refresh slots cache.'), {
      lastNodeError: inLastNode,
    });
    const all = new AggregateError([wrapped, aggregate, execAbort, clusterFailed], 'all');
    redactErrorValues(all);
    for (const error of [inCause, inAggregate, inPrevious, inLastNode]) {
      expect(error.command).toEqual({ name: 'hset', argumentCount: 1 });
    }
    expect(inspect(all, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toMatch(
      /[a-d]-secret/,
    );
  });

  it('ends on a cycle and does not run getters', () => {
    const error = refused();
    (error as { cause?: unknown }).cause = error;
    let read = false;
    Object.defineProperty(error, 'lazy', {
      get: () => {
        read = true;
        return refused();
      },
    });
    redactErrorValues(error);
    expect(error.command).toEqual({ name: 'hset', argumentCount: 3 });
    expect(read).toBe(false);
  });

  it('leaves a frozen error as it is, and a revoked Proxy, without throwing', () => {
    const error = Object.freeze(refused());
    expect(() => redactErrorValues(error)).not.toThrow();
    const { proxy, revoke } = Proxy.revocable(new Error('x'), {});
    revoke();
    expect(() => redactErrorValues(proxy)).not.toThrow();
    expect(() => redactErrorValues(new Error('wrapping', { cause: proxy }))).not.toThrow();
  });

  it('leaves values, plain objects and errors without a command alone', () => {
    for (const value of [undefined, null, 'text', 42, { command: { name: 'x', args: ['y'] } }]) {
      expect(() => redactErrorValues(value)).not.toThrow();
    }
    const plain = { command: { name: 'get', args: ['kept'] } };
    redactErrorValues(plain);
    expect(plain.command.args).toEqual(['kept']);
    const error = new Error('plain');
    redactErrorValues(error);
    expect(Object.keys(error)).toEqual([]);
  });

  it('takes the row values out of a PostgreSQL constraint detail, keeping the columns', () => {
    const unique = databaseError(
      '23505',
      'Key (tenant_id, lead_id)=(acme, lead (7)) already exists.',
    );
    const foreign = databaseError(
      '23503',
      'Key (lead_id)=(lead-7) is not present in table "leads".',
    );
    const failing = databaseError('23514', 'Failing row contains (acme, lead-7, +14155550100).');
    const exclusion = databaseError(
      '23P01',
      'Key (room)=(101) conflicts with existing key (room)=(101).',
    );
    redactErrorValues(new AggregateError([unique, foreign, failing, exclusion]));
    expect((unique as { detail?: string }).detail).toBe(
      'Key (tenant_id, lead_id)=(…) already exists.',
    );
    expect((foreign as { detail?: string }).detail).toBe(
      'Key (lead_id)=(…) is not present in table "leads".',
    );
    expect((failing as { detail?: string }).detail).toBe('Failing row contains (…).');
    expect((exclusion as { detail?: string }).detail).toBe(
      'Key (room)=(…) conflicts with existing key (room)=(…).',
    );
    // Not a pg error (no severity, no SQLSTATE): its detail is its own business.
    const other = Object.assign(new Error('x'), { detail: 'Key (a)=(b) already exists.' });
    redactErrorValues(other);
    expect(other.detail).toBe('Key (a)=(b) already exists.');
  });

  it('is what toError does to every error it hands to onError', () => {
    const error = refused();
    expect(toError(error)).toBe(error);
    expect(error.command).toEqual({ name: 'hset', argumentCount: 3 });
    const wrapped = toError([refused(['array-secret'])]);
    expect(inspect(wrapped, { depth: Number.POSITIVE_INFINITY, showHidden: true })).not.toContain(
      'array-secret',
    );
  });
});

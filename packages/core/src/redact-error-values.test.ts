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

  it('takes the quoted values out of a PostgreSQL data error (class 22), in its message, stack, detail and where', () => {
    // As PostgreSQL 15 words them (the dialer's tests reproduce the first two with real queries).
    const cases: [code: string, message: string, redacted: string][] = [
      [
        '22P02',
        'invalid input syntax for type uuid: "+14155550100"',
        'invalid input syntax for type uuid: "…"',
      ],
      [
        '22003',
        'value "+14155550100" is out of range for type integer',
        'value "…" is out of range for type integer',
      ],
      [
        '22008',
        'date/time field value out of range: "2024-13-45"',
        'date/time field value out of range: "…"',
      ],
      [
        '22007',
        'invalid input syntax for type timestamp with time zone: "ab"c"',
        'invalid input syntax for type timestamp with time zone: "…"',
      ],
      ['22007', 'invalid value "+1415" for "MM"', 'invalid value "…" for "MM"'],
      [
        '22P02',
        'invalid input value for enum mood: "sad"',
        'invalid input value for enum mood: "…"',
      ],
      // Nothing quoted: left as it is.
      [
        '22001',
        'value too long for type character varying(64)',
        'value too long for type character varying(64)',
      ],
      ['22012', 'division by zero', 'division by zero'],
    ];
    for (const [code, message, redacted] of cases) {
      const error = Object.assign(new Error(message), { name: 'error', severity: 'ERROR', code });
      const stack = error.stack;
      redactErrorValues(error);
      expect(error.message).toBe(redacted);
      expect(error.stack).toBe(stack?.replace(message, redacted));
      expect(error).toBeInstanceOf(Error);
    }
    const json = Object.assign(new Error('invalid input syntax for type json'), {
      name: 'error',
      severity: 'ERROR',
      code: '22P02',
      detail: 'Token ""+1415" is invalid.',
      where: `JSON data, line 1: {"phone": "+1415\nunnamed portal parameter $1 = '{"phone": "+1415'`,
    });
    redactErrorValues(json);
    expect(json.message).toBe('invalid input syntax for type json');
    expect(json.detail).toBe('Token "…" is invalid.');
    expect(json.where).toBe("JSON data, line 1: …\nunnamed portal parameter $1 = '…'");
    // Another class quotes names, not values: its message stays.
    const missing = Object.assign(new Error('relation "leads" does not exist'), {
      severity: 'ERROR',
      code: '42P01',
    });
    redactErrorValues(missing);
    expect(missing.message).toBe('relation "leads" does not exist');
    // Not a pg error: its message is its own business.
    const other = Object.assign(new Error('bad input: "x"'), { code: '22P02' });
    redactErrorValues(other);
    expect(other.message).toBe('bad input: "x"');
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

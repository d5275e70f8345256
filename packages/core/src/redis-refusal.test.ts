import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors/invalid-argument-error';
import { RedisUnavailableError } from './errors/redis-unavailable-error';
import {
  catchRedisStoreErrors,
  isRedisRefusingCommands,
  redisReplyCode,
  toRedisStoreError,
} from './redis-refusal';
import { toErrorResponse } from './to-error-response';

/** What ioredis rejects a command Redis answered with an error with: a ReplyError. */
const reply = (message: string, extra: object = {}) =>
  Object.assign(new Error(message), { name: 'ReplyError' }, extra);

/** A refused write as ioredis reports it: the command with the values it wrote. */
const refusedWrite = () =>
  reply("OOM command not allowed when used memory > 'maxmemory'.", {
    command: { name: 'evalsha', args: ['sha', '1', 'key', '{"secret":"whsec_private"}'] },
  });

describe('Redis refusals', () => {
  it('reads the codes of refusals, in scripts and transactions too', () => {
    expect(redisReplyCode(reply('LOADING Redis is loading the dataset in memory'))).toBe('LOADING');
    expect(
      redisReplyCode(
        reply(
          'ERR Error running script (call to f_1): @user_script:1: @user_script: 1: -MASTERDOWN Link with MASTER is down',
        ),
      ),
    ).toBe('MASTERDOWN');
    const aborted = reply('EXECABORT Transaction discarded because of previous errors.', {
      previousErrors: [reply("OOM command not allowed when used memory > 'maxmemory'.")],
    });
    expect(isRedisRefusingCommands(aborted)).toBe(true);
    expect(
      isRedisRefusingCommands(reply('BUSY Redis is busy running a script. You can only call…')),
    ).toBe(true);
    expect(isRedisRefusingCommands(reply('BUSYGROUP Consumer Group name already exists'))).toBe(
      false,
    );
    expect(isRedisRefusingCommands(reply('WRONGTYPE Operation against a key'))).toBe(false);
    expect(isRedisRefusingCommands(new Error('OOM not from Redis'))).toBe(false);
  });

  it('takes every refusal the scaling guide names for an outage, answered 503 redis_unavailable', async () => {
    const replies = [
      "OOM command not allowed when used memory > 'maxmemory'.",
      "READONLY You can't write against a read only replica.",
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
      'LOADING Redis is loading the dataset in memory',
      'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
      'NOREPLICAS Not enough good replicas to write.',
    ];
    for (const message of replies) {
      expect(isRedisRefusingCommands(reply(message)), message).toBe(true);
      const response = toErrorResponse(
        toRedisStoreError(reply(message), { operation: 'saving', writes: true }),
      );
      expect(response.status, message).toBe(503);
      expect(response.headers.get('retry-after'), message).toBe('5');
      expect((await response.json()).error.code, message).toBe('redis_unavailable');
    }
  });

  it('turns a refusal into a redacted RedisUnavailableError, answered 503 with Retry-After', async () => {
    const error = toRedisStoreError(refusedWrite(), {
      operation: 'creating an endpoint',
      writes: true,
    });
    expect(RedisUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe(
      "Redis cannot take commands right now (OOM command not allowed when used memory > 'maxmemory'.) while creating an endpoint. Try again later; what was written before the refusal, if anything, stays.",
    );
    expect(inspect(error, { depth: 10, showHidden: true })).not.toContain('whsec_private');
    const response = toErrorResponse(error);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect((await response.json()).error.code).toBe('redis_unavailable');
  });

  it('leaves other errors as they are, redacted', () => {
    const wrongType = reply('WRONGTYPE Operation against a key', {
      command: { name: 'hset', args: ['key', 'field', '+14155550123'] },
    });
    const calltrack = new InvalidArgumentError({ message: 'bad' });
    expect(toRedisStoreError(wrongType, { operation: 'x', writes: true })).toBe(wrongType);
    expect(inspect(wrongType, { showHidden: true })).not.toContain('4155550123');
    expect(toRedisStoreError(calltrack, { operation: 'x', writes: true })).toBe(calltrack);
  });

  it('wraps a store: rejections converted, results and synchronous throws as they are', async () => {
    const store = {
      async save(_value: string): Promise<number> {
        throw refusedWrite();
      },
      async read(): Promise<number> {
        return 1;
      },
      check(value: string): string {
        if (value === '') throw new InvalidArgumentError({ message: 'empty' });
        return value;
      },
    };
    const wrapped = catchRedisStoreErrors({ status: 'ready' }, store, {
      save: { operation: 'saving', writes: true },
      read: { operation: 'reading', writes: false },
      check: { operation: 'checking', writes: false },
    });
    const failure = await wrapped.save('x').catch((error: unknown) => error);
    expect(RedisUnavailableError.isInstance(failure)).toBe(true);
    expect((failure as Error).message).toMatch(
      / while saving\. Try again later; what was written before the refusal, if anything, stays\.$/,
    );
    expect(await wrapped.read()).toBe(1);
    expect(wrapped.check('a')).toBe('a');
    expect(() => wrapped.check('')).toThrow(InvalidArgumentError);
  });

  it('says a client that has ended is closed (500), whatever its error, redacted', async () => {
    const client = { status: 'ready' };
    const store = {
      async save(_value: string): Promise<void> {
        throw Object.assign(new Error('Connection is closed.'), {
          command: { name: 'hset', args: ['key', 'whsec_private'] },
        });
      },
      async refused(): Promise<void> {
        throw refusedWrite();
      },
    };
    const wrapped = catchRedisStoreErrors(client, store, {
      save: { operation: 'saving', writes: true },
      refused: { operation: 'refusing', writes: true },
    });
    // Ready: the message is an outage (toErrorResponse answers it 503).
    expect(toErrorResponse(await wrapped.save('x').catch((error: unknown) => error)).status).toBe(
      503,
    );
    client.status = 'end';
    for (const failure of [
      await wrapped.save('x').catch((error: unknown) => error),
      await wrapped.refused().catch((error: unknown) => error),
    ]) {
      expect(failure).toMatchObject({ code: 'redis_client_closed', status: 500 });
      expect(inspect(failure, { depth: 10, showHidden: true })).not.toContain('whsec_private');
      expect(toErrorResponse(failure).status).toBe(500);
    }
  });
});

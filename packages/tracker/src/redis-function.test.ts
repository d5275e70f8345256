import { defineRedisScript } from '@calltrack/redis-script';
import { startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisFunction, runRedisFunction } from './redis-function';

/** A function that counts its runs in keys[1] and answers its first argument. */
const body = `local function countRun(keys, args)
  redis.call('INCR', keys[1])
  return args[1]
end`;
const script = defineRedisScript(`${body}\nreturn countRun(KEYS, ARGV)`);
const name = `calltrack_test_${script.sha}`;
const counting: RedisFunction = {
  name,
  script,
  library: `#!lua name=${name}\n${body}\nredis.register_function('${name}', countRun)`,
};

/** Records the names of the function and script commands `client` sends. */
function recordCommands(client: Redis): string[] {
  const sent: string[] = [];
  const sendCommand = client.sendCommand.bind(client);
  client.sendCommand = ((command, stream) => {
    const name = command.name.toLowerCase();
    if (/^(fcall|function|evalsha|eval)$/.test(name)) sent.push(name);
    return sendCommand(command, stream);
  }) as Redis['sendCommand'];
  return sent;
}

describe('runRedisFunction (on a server of its own)', () => {
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  let admin: Redis;
  const clients: Redis[] = [];
  const connect = (user?: string): Redis => {
    const client = new Redis(server!.url, user ? { username: user, password: 'secret' } : {});
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startRedisServer();
    admin = connect();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await server?.stop();
  });

  it('loads the library on first use and again after FUNCTION FLUSH, running the function once each time', async () => {
    const client = connect();
    await client.ping();
    const sent = recordCommands(client);
    expect(await runRedisFunction(client, counting, ['runs:a'], ['one'])).toBe('one');
    expect(await runRedisFunction(client, counting, ['runs:a'], ['two'])).toBe('two');
    await admin.call('FUNCTION', 'FLUSH');
    expect(await runRedisFunction(client, counting, ['runs:a'], ['three'])).toBe('three');
    expect(await admin.get('runs:a')).toBe('3');
    expect(sent).toEqual(['fcall', 'function', 'fcall', 'fcall', 'fcall', 'function', 'fcall']);
  });

  it('takes a library another process loaded first', async () => {
    await admin.call('FUNCTION', 'FLUSH');
    const client = connect();
    await admin.call('FUNCTION', 'LOAD', counting.library);
    expect(await runRedisFunction(client, counting, ['runs:b'], ['x'])).toBe('x');
    expect(await admin.get('runs:b')).toBe('1');
  });

  it.each([
    ['may not load libraries', '-function'],
    ['may not call functions', '-fcall'],
  ])('runs the script instead, from then on, for a user who %s', async (_case, rule) => {
    await admin.call('FUNCTION', 'FLUSH');
    const user = `limited${rule.replace(/\W/g, '')}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '&*', '+@all', rule);
    const client = connect(user);
    await client.ping();
    const sent = recordCommands(client);
    const key = `runs:${user}`;
    expect(await runRedisFunction(client, counting, [key], ['one'])).toBe('one');
    expect(await runRedisFunction(client, counting, [key], ['two'])).toBe('two');
    expect(await admin.get(key)).toBe('2');
    expect(sent.filter((command) => command === 'fcall').length).toBeLessThanOrEqual(1);
    expect(sent.at(-1)).toBe('evalsha');
  });

  it('throws what the function itself throws, without running it again as a script', async () => {
    const client = connect();
    const failing: RedisFunction = {
      ...counting,
      name: `${counting.name}_failing`,
      library: `#!lua name=${counting.name}_failing\n${body}\nredis.register_function('${counting.name}_failing', function(keys, args) countRun(keys, args) return redis.error_reply('ERR failed on purpose') end)`,
    };
    await expect(runRedisFunction(client, failing, ['runs:c'], ['x'])).rejects.toThrowError(
      /failed on purpose/,
    );
    expect(await admin.get('runs:c')).toBe('1');
  });
});

import { randomUUID } from 'node:crypto';
import { defineRedisScript } from '@calltrack/redis-script';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisScriptBatcher } from './create-redis-script-batcher';

let redis: Redis | undefined;
const prefix = uniquePrefix('script-batcher');

beforeAll(async () => {
  redis = await connectTestRedis();
});

afterAll(async () => {
  if (redis) await deleteKeys(redis, prefix);
  redis?.disconnect();
});

describe('createRedisScriptBatcher', () => {
  it('sends the calls of one turn in one pipeline, each answered on its own, in order', async () => {
    if (!redis) return;
    // A source Redis has never seen (a fresh comment): the first batch meets NOSCRIPT.
    const append = defineRedisScript(
      `-- ${randomUUID()}\nredis.call('RPUSH', KEYS[1], ARGV[1])\nreturn redis.call('LLEN', KEYS[1])`,
    );
    const fail = defineRedisScript(`-- ${randomUUID()}\nreturn redis.error_reply('NOPE')`);
    const key = `${prefix}:list`;
    let pipelines = 0;
    const client = redis;
    const pipeline = client.pipeline.bind(client);
    client.pipeline = ((...args: Parameters<Redis['pipeline']>) => {
      pipelines += 1;
      return pipeline(...args);
    }) as Redis['pipeline'];
    try {
      const run = createRedisScriptBatcher(client);
      const first = await Promise.allSettled([
        run(append, [key], ['a']),
        run(fail, [key], []),
        run(append, [key], ['b']),
      ]);
      expect(first[0]).toEqual({ status: 'fulfilled', value: 1 });
      expect(first[1]).toMatchObject({
        status: 'rejected',
        reason: { message: expect.stringMatching(/NOPE/) },
      });
      expect(first[2]).toEqual({ status: 'fulfilled', value: 2 });
      expect(pipelines).toBe(1);
      // Known now: one more batch, answered straight from the pipeline.
      const second = await Promise.all(['c', 'd', 'e'].map((item) => run(append, [key], [item])));
      expect(second).toEqual([3, 4, 5]);
      expect(pipelines).toBe(2);
      expect(await client.lrange(key, 0, -1)).toEqual(['a', 'b', 'c', 'd', 'e']);
    } finally {
      client.pipeline = pipeline;
    }
  });
});

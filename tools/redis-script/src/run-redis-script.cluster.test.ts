// On a three-master Redis Cluster of this file's own: after SCRIPT FLUSH on every node,
// concurrent calls of a script whose keys spread over every master load it once per master.
import { type RedisClusterProcess, startRedisCluster } from '@calltrack/test-utils';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRedisScript, runRedisScript } from './run-redis-script';

let cluster: RedisClusterProcess | undefined;
let client: Cluster | undefined;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster(cluster.startupNodes);
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

const calls = async (node: Redis, command: string): Promise<number> =>
  Number(
    new RegExp(`^cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`, 'm').exec(
      await node.info('commandstats'),
    )?.[1] ?? 0,
  );

const script = defineRedisScript(
  `-- ${'padding '.repeat(2_000)}\nreturn redis.call('INCR', KEYS[1])`,
);

describe('runRedisScript on a Cluster', () => {
  it('loads a script once per master (one EVAL there) for 600 concurrent calls over every master after SCRIPT FLUSH', async () => {
    const redis = client as Cluster;
    const keys = Array.from({ length: 300 }, (_, index) => `stampede:{${index}}`);
    await Promise.all(keys.map((key) => runRedisScript(redis, script, [key], [])));
    const masters = redis.nodes('master');
    expect(masters.length).toBe(3);
    for (const node of masters) {
      await node.script('FLUSH');
      await node.config('RESETSTAT');
    }
    const replies = await Promise.all(
      [...keys, ...keys].map((key) => runRedisScript(redis, script, [key], [])),
    );
    expect(replies.every((reply) => reply === 2 || reply === 3)).toBe(true);
    for (const node of masters) {
      expect([await calls(node, 'eval'), await calls(node, 'script|load')]).toEqual([1, 0]);
    }
  });
});

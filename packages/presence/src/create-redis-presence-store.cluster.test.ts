import { createMemoryBus } from '@calltrack/bus';
import { connectTestRedis } from '@calltrack/test-utils';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisClusterProcess, startRedisCluster } from './__tests__/start-redis-cluster';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { describePresenceStore } from './describe-presence-store';

// Starts a cluster of its own (redis-server is installed wherever the test Redis runs); the
// probe decides skip-or-fail like every Redis suite.
const probe = await connectTestRedis();
probe?.disconnect();

describe.skipIf(!probe)('createRedisPresenceStore on Redis Cluster', () => {
  let cluster: RedisClusterProcess | undefined;
  let client: Cluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
    await client.ping();
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  let counter = 0;
  describePresenceStore(
    { describe, it, afterEach },
    {
      name: 'redis cluster',
      createStore: async () => {
        counter += 1;
        return {
          store: createRedisPresenceStore({ redis: client!, prefix: `cluster-${counter}` }),
        };
      },
    },
  );

  it('works for tenants spread over every node, each operation in its tenant’s slot', async () => {
    const store = createRedisPresenceStore({ redis: client!, prefix: 'spread' });
    const presence = createPresence({
      bus: createMemoryBus(),
      store,
      logger: {},
      autoHeartbeat: false,
    });
    for (let index = 0; index < 12; index += 1) {
      await presence.connect({ tenantId: `tenant-${index}`, userId: 'agent' });
      await presence.send(`tenant-${index}`, 'agent', 'hello');
    }
    const keysPerNode = await Promise.all(client!.nodes('master').map((node) => node.dbsize()));
    expect(keysPerNode.filter((count) => count > 0).length).toBe(3);
    expect((await store.listTenants()).sort()).toHaveLength(12);
    for (let index = 0; index < 12; index += 1) {
      expect(await presence.countOnline(`tenant-${index}`)).toEqual({ online: 1, away: 0 });
    }
  });
});

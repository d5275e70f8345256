import {
  connectTestRedis,
  type RedisClusterProcess,
  startRedisCluster,
} from '@calltrack/test-utils';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCallStore } from './__tests__/describe-call-store';
import { callLifecycle, transitionOf } from './__tests__/make-call-event';
import { createRedisCallStore } from './create-redis-call-store';

// The Redis call store on a three-master Redis Cluster this file starts itself (redis-server
// ≥ 7 is installed on the machine and in CI). The probe decides skip-or-fail like every Redis
// suite.
const probe = await connectTestRedis();
probe?.disconnect();
const available = probe !== undefined;

describe.skipIf(!available)('createRedisCallStore on a Redis Cluster', () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster(cluster.startupNodes);
    client.on('error', () => {});
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  let counter = 0;
  // Each store gets its own prefix on the cluster, which is thrown away with it.
  describeCallStore('redis cluster', async () => {
    counter += 1;
    return { store: createRedisCallStore({ redis: client, prefix: `store-${counter}` }) };
  });

  it('keeps the tenants of one store on several nodes, each tenant in one slot', async () => {
    const store = createRedisCallStore({ redis: client, prefix: 'spread' });
    // tenant-2, tenant-0 and tenant-1 hash into the first, second and third third of the slots.
    for (const tenantId of ['tenant-2', 'tenant-0', 'tenant-1']) {
      const [queued] = callLifecycle({ tenantId, callId: `CA-${tenantId}` });
      await store.apply(transitionOf(queued!, 0));
      expect(await store.countActiveCalls(tenantId)).toEqual({ total: 1, byBranch: {} });
      expect(
        (await store.listActiveCalls(tenantId, { limit: 10 })).map((call) => call.callId),
      ).toEqual([`CA-${tenantId}`]);
    }
    const owners = await Promise.all(
      ['tenant-2', 'tenant-0', 'tenant-1'].map(async (tenantId) =>
        cluster.ownerOf(Number(await client.cluster('KEYSLOT', `{${tenantId}}`))),
      ),
    );
    expect(new Set(owners)).toEqual(new Set([0, 1, 2]));
    expect((await store.listTenants()).sort()).toEqual(['tenant-0', 'tenant-1', 'tenant-2']);
  });
});

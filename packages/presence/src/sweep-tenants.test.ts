// Reads of a tenant nobody is in (a board polling a tenant id from a URL, a router asking about
// any user) must not list it for the sweeper: every sweep on every process would visit it.
import { createMemoryBus } from '@calltrack/bus';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { PresenceStore } from './presence-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('presence-sweep-tenants');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, filePrefix);
  redis.disconnect();
});

const backends: [string, () => PresenceStore][] = [
  ['memory', () => createMemoryPresenceStore()],
  ...(redis
    ? ([['redis', () => createRedisPresenceStore({ redis: redis!, prefix: filePrefix })]] as [
        string,
        () => PresenceStore,
      ][])
    : []),
];

describe.each(backends)('tenants the sweeper walks (%s)', (_name, make) => {
  it('are not added by reads that store nothing, and are by a connect', async () => {
    const store = make();
    let sweeps = 0;
    const counted: PresenceStore = {
      ...store,
      apply: (operation) => store.apply(operation),
      sweep: (...args) => {
        sweeps += 1;
        return store.sweep(...args);
      },
      heartbeat: store.heartbeat?.bind(store),
    };
    const presence = createPresence({
      bus: createMemoryBus(),
      store: counted,
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {},
    });
    // Reads only: a board polling a tenant id from a URL, a router asking about any user.
    for (let i = 0; i < 20; i += 1) {
      await presence.getPresence(`ghost-${i}`, 'nobody');
      await presence.isAvailable(`ghost-${i}`, 'nobody');
      await presence.countOnline(`ghost-count-${i}`);
    }
    const tenants = await store.listTenants();
    sweeps = 0;
    await presence.sweep();
    expect(tenants).toEqual([]);
    expect(sweeps).toBe(0);
    await presence.connect({ tenantId: 'tenant-a', userId: 'u1' });
    expect(await store.listTenants()).toEqual(['tenant-a']);
  });
});

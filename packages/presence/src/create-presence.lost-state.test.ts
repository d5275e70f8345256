import { createMemoryBus } from '@calltrack/bus';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { createRedisPresenceStore } from './create-redis-presence-store';
import { conformanceTimings } from './describe-presence-store';
import type { PresenceStore } from './presence-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('presence-lost-state');
const t0 = Date.parse('2026-11-21T10:00:00.000Z');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, filePrefix);
  redis.disconnect();
});

/** A memory store that can lose all its data, like a Redis restarted empty. */
function losableMemory(batch: boolean): { store: PresenceStore; lose: () => Promise<void> } {
  let inner = createMemoryPresenceStore();
  const store: PresenceStore = {
    apply: (operation) => inner.apply(operation),
    sweep: (...args) => inner.sweep(...args),
    confirm: (...args) => inner.confirm(...args),
    listMembers: (...args) => inner.listMembers(...args),
    countMembers: (...args) => inner.countMembers(...args),
    listTenants: () => inner.listTenants(),
    listTenantPage: (...args) => inner.listTenantPage(...args),
  };
  // Without the batch, heartbeats run one by one and learn the state from the record.
  if (batch) store.heartbeat = (...args) => inner.heartbeat!(...args);
  return {
    store,
    lose: async () => {
      inner = createMemoryPresenceStore();
    },
  };
}

function losableRedis(): { store: PresenceStore; lose: () => Promise<void> } {
  const prefix = `${filePrefix}:${Math.random().toString(36).slice(2, 8)}`;
  return {
    store: createRedisPresenceStore({ redis: redis!, prefix }),
    // Every key of the store gone: what a Redis restarted without persistence leaves.
    lose: () => deleteKeys(redis!, prefix),
  };
}

const backends = [
  ['memory, batched heartbeats', () => losableMemory(true)],
  ['memory, heartbeats one by one', () => losableMemory(false)],
  ...(redis ? ([['redis', losableRedis]] as const) : []),
] as const;

describe.each(backends)('the state after the store lost its data (%s)', (_name, make) => {
  it('comes back as the newest one a connection heard, whichever connection registers first', async () => {
    const { store, lose } = make();
    let time = t0;
    const engine = () =>
      createPresence({
        bus: createMemoryBus(),
        store,
        clock: { now: () => time },
        ...conformanceTimings,
        autoHeartbeat: false,
        logger: {},
      });
    // Two processes hold the user's two sockets; the API runs on a third.
    const [a, b, api] = [engine(), engine(), engine()];
    await api.setState('tenant-a', 'agent', 'available');
    const desk = await a.connect({ tenantId: 'tenant-a', userId: 'agent', connectionId: 'desk' });
    time = t0 + 500;
    const phone = await b.connect({ tenantId: 'tenant-a', userId: 'agent', connectionId: 'phone' });
    time = t0 + 1000;
    await desk.heartbeat(); // hears 'available'
    time = t0 + 1100;
    await api.setState('tenant-a', 'agent', 'break');
    time = t0 + 1500;
    await phone.heartbeat(); // hears 'break'

    await lose();
    time = t0 + 2000;
    await desk.heartbeat(); // registers again first, with the older 'available'
    time = t0 + 2500;
    await phone.heartbeat(); // registers again with 'break', set later: it wins

    const presence = await api.getPresence('tenant-a', 'agent');
    expect(presence.status).toBe('online');
    expect(presence.state).toBe('break');
    // The harm it would do: an agent on a break offered calls.
    expect(await api.isAvailable('tenant-a', 'agent')).toBe(false);

    // A state set after the loss is newer than anything a connection brings back.
    await api.setState('tenant-a', 'agent', 'lunch');
    await lose();
    time = t0 + 3000;
    await api.setState('tenant-a', 'agent', 'wrap-up');
    await phone.heartbeat(); // knew 'lunch', set before 'wrap-up'
    expect((await api.getPresence('tenant-a', 'agent')).state).toBe('wrap-up');
  });
});

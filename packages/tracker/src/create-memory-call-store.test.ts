import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryCallStore } from './create-memory-call-store';
import { callLifecycle, t0, testSettings, transitionOf } from './make-call-event';
import { describeCallStore } from './testing';

describeCallStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => ({
      store: createMemoryCallStore(),
    }),
  },
);

describe('createMemoryCallStore', () => {
  it('forgets an ended call once its retention has passed', async () => {
    const store = createMemoryCallStore();
    const [queued, , , ended] = callLifecycle({ callId: 'CA-forget' });
    await store.apply(transitionOf(queued!, 0));
    await store.apply(transitionOf(ended!, 10));
    const retention = testSettings.endedCallRetentionMs;
    await store.apply(transitionOf(callLifecycle({ callId: 'CA-later' })[0]!, retention));
    expect(await store.getCall('tenant-a', 'CA-forget', t0 + retention)).toBeDefined();
    await store.apply(transitionOf(callLifecycle({ callId: 'CA-later2' })[0]!, retention + 11));
    // Dropped by the change: also a read at an earlier time finds nothing.
    expect(await store.getCall('tenant-a', 'CA-forget', t0 + retention)).toBeUndefined();
  });

  it('lets alert slots expire by the given clock', async () => {
    const store = createMemoryCallStore();
    expect(await store.claimAlert('tenant-a', 'x', 1000, t0)).toBe(true);
    expect(await store.claimAlert('tenant-a', 'x', 1000, t0 + 999)).toBe(false);
    expect(await store.claimAlert('tenant-a', 'x', 1000, t0 + 1000)).toBe(true);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { conformanceSettings, describePresenceStore } from './describe-presence-store';

describePresenceStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => ({
      store: createMemoryPresenceStore(),
    }),
  },
);

describe('createMemoryPresenceStore heartbeats', () => {
  it('refreshes a connection set away of an away user in the batch, and leaves one of an online user to the full rules', async () => {
    const store = createMemoryPresenceStore();
    const settings = conformanceSettings();
    const at = Date.parse('2026-11-21T10:00:00.000Z');
    const op = { tenantId: 'tenant-a', userId: 'u1', settings } as const;
    const beat = (time: number) =>
      store.heartbeat!('tenant-a', [{ userId: 'u1', connectionId: 'desk' }], time, settings);
    await store.apply({ ...op, kind: 'connect', connectionId: 'desk', at });
    await store.apply({ ...op, kind: 'away', connectionId: 'desk', away: true, at });
    expect(await beat(at + 1000)).toEqual([{ outcome: 'ok' }]);
    // Another connection is active: the user is online, and whether they still are when this
    // heartbeat comes is for the full rules to decide.
    await store.apply({ ...op, kind: 'connect', connectionId: 'phone', at: at + 1000 });
    expect(await beat(at + 2000)).toEqual(['slow']);
  });
});

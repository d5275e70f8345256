import { describe, expect, it } from 'vitest';
import { createHeartbeatBatcher } from './create-heartbeat-batcher';
import { PresenceConnectionHandle, type PresenceHandleEngine } from './presence-connection-handle';
import type { HeartbeatOutcome, PresenceStoreSettings } from './presence-store';

const engine = {} as PresenceHandleEngine;
const handle = (tenantId: string, userId: string) =>
  new PresenceConnectionHandle(engine, tenantId, userId, `${userId}-c`, `${userId}-t`, undefined);
const settings = {} as PresenceStoreSettings;

describe('createHeartbeatBatcher', () => {
  it('sends the heartbeats of one tick as one call per tenant and batch of 256', async () => {
    const calls: [string, number][] = [];
    const batcher = createHeartbeatBatcher({
      heartbeat: async (tenantId, beats) => {
        calls.push([tenantId, beats.length]);
        return beats.map(() => 'ok');
      },
      now: () => 1,
      settings,
      onSlow: async () => {},
      onMissing: async () => {},
    });
    await Promise.all([
      ...Array.from({ length: 300 }, (_, index) => batcher.add(handle('tenant-a', `u${index}`))),
      batcher.add(handle('tenant-b', 'u1')),
    ]);
    expect(calls).toEqual([
      ['tenant-a', 256],
      ['tenant-a', 44],
      ['tenant-b', 1],
    ]);
    await batcher.add(handle('tenant-a', 'later'));
    expect(calls.at(-1)).toEqual(['tenant-a', 1]);
  });

  it('hands what the batch could not refresh to the full rules, or registers it again', async () => {
    const outcomes: HeartbeatOutcome[] = ['ok', 'slow', 'missing', 'missing'];
    const slow: string[] = [];
    const missing: string[] = [];
    const batcher = createHeartbeatBatcher({
      heartbeat: async () => outcomes,
      now: () => 1,
      settings,
      onSlow: async (target) => {
        slow.push(target.userId);
      },
      onMissing: async (target) => {
        missing.push(target.userId);
      },
    });
    const closed = handle('tenant-a', 'closed');
    closed.closed = true;
    await Promise.all(
      [
        handle('tenant-a', 'fresh'),
        handle('tenant-a', 'idle'),
        handle('tenant-a', 'gone'),
        closed,
      ].map((target) => batcher.add(target)),
    );
    expect(slow).toEqual(['idle']);
    expect(missing).toEqual(['gone']);
  });

  it('rejects every heartbeat of a batch the store failed', async () => {
    const batcher = createHeartbeatBatcher({
      heartbeat: async () => {
        throw new Error('Redis is down');
      },
      now: () => 1,
      settings,
      onSlow: async () => {},
      onMissing: async () => {},
    });
    const results = await Promise.allSettled([
      batcher.add(handle('tenant-a', 'u1')),
      batcher.add(handle('tenant-a', 'u2')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});

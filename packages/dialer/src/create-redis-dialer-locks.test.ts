import { createMemoryBus } from '@calltrack/bus';
import type { CallControl, CallEvent } from '@calltrack/core';
import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createDialer } from './create-dialer';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createRedisCallPacer } from './create-redis-call-pacer';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';

const redis = await connectTestRedis();
const prefix = uniquePrefix('dialer-locks');

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe.skipIf(!redis)('Redis leases, pacing and do-not-call', () => {
  it('grants a key to one holder; release and renewal act only for the holder of the token', async () => {
    const locks = createRedisDialerLocks({ redis: redis!, prefix });
    const first = await locks.acquire('run:acme:u1', 30_000);
    expect(first?.token).toMatch(/^[0-9a-f]{40}$/);
    expect(await locks.acquire('run:acme:u1', 30_000)).toBeUndefined();
    expect(await first!.renew(60_000)).toBe(true);
    expect(await redis!.pttl(`${prefix}:run:acme:u1`)).toBeGreaterThan(30_000);
    // The lease expires (as if the holder paused) and another process takes it.
    await redis!.del(`${prefix}:run:acme:u1`);
    const second = await locks.acquire('run:acme:u1', 30_000);
    expect(second).toBeDefined();
    expect(await first!.renew(30_000)).toBe(false);
    expect(await first!.release()).toBe(false);
    expect(await redis!.get(`${prefix}:run:acme:u1`)).toBe(second!.token);
    expect(await second!.release()).toBe(true);
    expect(await redis!.exists(`${prefix}:run:acme:u1`)).toBe(0);
  });

  it('hands out a follow-up request once', async () => {
    const locks = createRedisDialerLocks({ redis: redis!, prefix });
    expect(await locks.takeFollowUp('run:acme:u2')).toBe(false);
    await locks.requestFollowUp('run:acme:u2', 60_000);
    await locks.requestFollowUp('run:acme:u2', 60_000);
    expect(await locks.takeFollowUp('run:acme:u2')).toBe(true);
    expect(await locks.takeFollowUp('run:acme:u2')).toBe(false);
  });

  it('runs one run per user across two dialers: the second trigger becomes one follow-up', async () => {
    const store = createMemoryLeadStore();
    await store.addLeads(
      [1, 2, 3].map((index) => ({
        tenantId: 'acme',
        leadId: `lead-${index}`,
        userId: 'u3',
        phoneNumber: `+1415555000${index}`,
        timeZone: 'UTC',
      })),
    );
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const placed: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        placed.push(request.to);
        await gate;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    const events: CallEvent[] = [];
    const bus = createMemoryBus();
    const sink = {
      publish: async (event: CallEvent) => {
        events.push(event);
        return bus.publish(event);
      },
    };
    const noon = Date.parse('2026-03-02T12:00:00Z');
    const dialers = [1, 2].map((index) =>
      createDialer({
        store,
        bus: sink,
        accounts: [{ id: 'test', control, callsPerSecond: 100 }],
        locks: createRedisDialerLocks({ redis: redis!, prefix }),
        pacer: createRedisCallPacer({ redis: redis!, prefix }),
        maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
        clock: { now: () => noon, sleep: () => new Promise(() => {}) },
        instanceId: `dialer-${index}`,
      }),
    );
    const results = await Promise.all(
      dialers.map((dialer) => dialer.trigger({ tenantId: 'acme', userId: 'u3' })),
    );
    expect(results.map((result) => result.outcome).sort()).toEqual([
      'follow_up_scheduled',
      'started',
    ]);
    release();
    const started = results.find((result) => result.outcome === 'started');
    if (started?.outcome !== 'started') throw new Error('no run started');
    const summaries = await started.finished;
    expect(summaries.map((summary) => summary.placed)).toEqual([3, 0]);
    expect(placed).toHaveLength(3);
    expect(
      events
        .filter((event) => event.type === 'dialer.run_started')
        .map((event) => event.data.cause),
    ).toEqual(['trigger', 'follow_up']);
    // Runs never overlapped: each start comes after the previous finish.
    const runEvents = events.filter((event) => event.type.startsWith('dialer.run_'));
    expect(runEvents.map((event) => event.type)).toEqual([
      'dialer.run_started',
      'dialer.run_finished',
      'dialer.run_started',
      'dialer.run_finished',
    ]);
    await bus.close();
  });

  it('keeps a do-not-call list per tenant', async () => {
    const list = createRedisDoNotCallList({ redis: redis!, prefix });
    await list.add('acme', ['+14155550100', '+14155550101']);
    expect(await list.has('acme', '+14155550100')).toBe(true);
    expect(await list.has('other', '+14155550100')).toBe(false);
    await list.remove('acme', ['+14155550100']);
    expect(await list.has('acme', '+14155550100')).toBe(false);
    expect(await list.has('acme', '+14155550101')).toBe(true);
    await expect(list.has('', '+1')).rejects.toMatchObject({ status: 400 });
  });
});

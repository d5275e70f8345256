import { createMemoryBus } from '@calltrack/bus';
import type { CallControl, CallEvent } from '@calltrack/core';
import {
  connectTestRedis,
  deleteKeys,
  elapseRedisExpiry,
  uniquePrefix,
} from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createDialer } from './create-dialer';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createRedisCallPacer } from './create-redis-call-pacer';
import { createRedisDialerLocks } from './create-redis-dialer-locks';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import { createTestClock } from './create-test-clock';
import type { DialerLease, DialerLocks } from './dialer-locks';

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

  it('hands out a follow-up request once; renewing keeps one longer and never makes one', async () => {
    const locks = createRedisDialerLocks({ redis: redis!, prefix });
    await locks.renewFollowUp('run:acme:u2', 60_000);
    expect(await locks.takeFollowUp('run:acme:u2')).toBe(false);
    await locks.requestFollowUp('run:acme:u2', 60_000);
    await locks.requestFollowUp('run:acme:u2', 60_000);
    await locks.renewFollowUp('run:acme:u2', 600_000);
    expect(await redis!.pttl(`${prefix}:run:acme:u2:follow-up`)).toBeGreaterThan(60_000);
    expect(await locks.takeFollowUp('run:acme:u2')).toBe(true);
    await locks.renewFollowUp('run:acme:u2', 60_000);
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

  it('keeps a follow-up request for as long as the run it waits for lasts, a day and more', async () => {
    const lockPrefix = `${prefix}:long-run`;
    // Every call to the locks (and to their leases) is tracked, so the test waits for the
    // renewals a clock step started before it lets that step pass on Redis's expiry clock too.
    const inFlight = new Set<Promise<unknown>>();
    const tracked = <T>(promise: Promise<T>): Promise<T> => {
      inFlight.add(promise);
      const done = (): void => {
        inFlight.delete(promise);
      };
      promise.then(done, done);
      return promise;
    };
    const trackAll = <T extends object>(target: T): T =>
      Object.fromEntries(
        Object.entries(target).map(([name, value]) => [
          name,
          typeof value === 'function'
            ? (...args: unknown[]) => tracked(Promise.resolve(value(...args)))
            : value,
        ]),
      ) as T;
    const redisLocks = createRedisDialerLocks({ redis: redis!, prefix: lockPrefix });
    const locks: DialerLocks = {
      ...trackAll(redisLocks),
      acquire: (key, ttlMs) =>
        tracked(
          redisLocks
            .acquire(key, ttlMs)
            .then((lease): DialerLease | undefined => lease && trackAll(lease)),
        ),
    };
    const settled = async (): Promise<void> => {
      do {
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.allSettled([...inFlight]);
      } while (inFlight.size > 0);
    };
    const store = createMemoryLeadStore();
    const lead = (index: number) => ({
      tenantId: 'acme',
      leadId: `lead-${index}`,
      userId: 'u4',
      phoneNumber: `+1415555000${index}`,
      timeZone: 'UTC',
    });
    await store.addLeads([lead(1)]);
    let releaseDial: () => void = () => {};
    const dialHeld = new Promise<void>((resolve) => {
      releaseDial = resolve;
    });
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        dialled.push(request.to);
        await dialHeld;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    const clock = createTestClock(Date.parse('2026-03-02T12:00:00Z'));
    const dialer = createDialer({
      store,
      bus: { publish: async () => ({ duplicate: false }) },
      accounts: [{ id: 'test', control, callsPerSecond: 100 }],
      locks,
      clock,
      runLeaseMs: 3_600_000,
      logger: {},
    });
    try {
      const first = await dialer.trigger({ tenantId: 'acme', userId: 'u4' });
      while (dialled.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expect((await dialer.trigger({ tenantId: 'acme', userId: 'u4' })).outcome).toBe(
        'follow_up_scheduled',
      );
      await store.addLeads([lead(2)]);
      // 25 hours pass, on the dialer's clock and on Redis's: the run lease (an hour) is renewed
      // every 20 minutes, and nothing else keeps a key.
      for (let minutes = 0; minutes < 25 * 60; minutes += 10) {
        await clock.advance(600_000);
        await settled();
        await elapseRedisExpiry(redis!, lockPrefix, 600_000);
      }
      releaseDial();
      if (first.outcome !== 'started') throw new Error('no run started');
      const summaries = await first.finished;
      // The run kept its lease throughout: the follow-up ran because it was still asked for.
      expect(
        summaries.map((summary) => [summary.cause, summary.placed, summary.stoppedBy]),
      ).toEqual([
        ['trigger', 1, undefined],
        ['follow_up', 1, undefined],
      ]);
      expect(dialled).toEqual(['+14155550001', '+14155550002']);
    } finally {
      releaseDial();
      await dialer.stop();
    }
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

// The built-in do-not-call list on a Redis that holds its query (`CLIENT PAUSE`, as a Redis busy
// with a slow script or failing over does): the list gets `hookTimeoutMs` on the dialer's clock,
// as your `isDoNotCall` hook does, and fails closed the same way. On a redis-server of this
// file's own (the pause holds every client of the server); time moved by the dialer's test clock.
import { createMemoryBus } from '@calltrack/bus';
import type { CallControl } from '@calltrack/core';
import { connectTestRedis, type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDialer } from './create-dialer';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createRedisDoNotCallList } from './create-redis-do-not-call-list';
import { createTestClock } from './create-test-clock';
import type { DoNotCallList } from './do-not-call-list';

// The probe decides skip-or-fail like every Redis suite; the server is the file's own.
const probe = await connectTestRedis();
probe?.disconnect();
const available = probe !== undefined;

const tenantId = 'acme';
const principal = { tenantId, userId: 'user-1' };

describe.skipIf(!available)(
  'the dialer with a do-not-call list whose Redis holds the query',
  () => {
    let server: RedisServerProcess | undefined;
    const clients: Redis[] = [];
    const closers: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      for (const client of clients.splice(0)) client.disconnect();
      await server?.stop();
    });

    async function setUp() {
      server = await startRedisServer();
      const connect = (): Redis => {
        const client = new Redis(server!.url, { maxRetriesPerRequest: 1 });
        client.on('error', () => {});
        clients.push(client);
        return client;
      };
      const redis = connect();
      const admin = connect();
      const redisList = createRedisDoNotCallList({ redis, prefix: 'held:dialer' });
      await redisList.add(tenantId, ['+14155550102']);
      let asked = 0;
      const doNotCall: DoNotCallList = {
        ...redisList,
        has(...args) {
          asked += 1;
          return redisList.has(...args);
        },
      };
      const store = createMemoryLeadStore();
      await store.addLeads([
        {
          tenantId,
          leadId: 'lead-001',
          userId: 'user-1',
          phoneNumber: '+14155550101',
          timeZone: 'America/New_York',
        },
      ]);
      const dialled: string[] = [];
      const control: CallControl = {
        provider: 'twilio',
        async placeCall(request) {
          dialled.push(request.to);
          return { provider: 'twilio', callId: `CA-${request.to}`, reference: request.reference };
        },
        async terminateCall() {},
      };
      const clock = createTestClock();
      const bus = createMemoryBus();
      const warnings: string[] = [];
      const dialer = createDialer({
        store,
        bus,
        accounts: [{ id: 'twilio-main', control }],
        clock,
        doNotCall,
        hookTimeoutMs: 5_000,
        logger: { warn: (message) => warnings.push(message), error: () => {} },
      });
      // The server is killed after each test, still paused (it answers not even CLIENT UNPAUSE).
      closers.push(async () => {
        await dialer.stop();
        await bus.close();
      });
      // Redis answers no client's command until told.
      await admin.client('PAUSE', 600_000, 'ALL');
      return { store, clock, dialer, dialled, warnings, asked: () => asked };
    }

    it('skips the lead after hookTimeoutMs on the dialer clock, never calling it (fail closed), and ends the run', async () => {
      const { store, clock, dialer, dialled, warnings, asked } = await setUp();
      const result = await dialer.trigger(principal);
      if (result.outcome !== 'started') throw new Error('no run started');
      let summary: unknown;
      void result.finished.then(([first]) => {
        summary = first;
      });
      await vi.waitFor(() => expect(asked()).toBe(1));
      await clock.advance(4_999);
      expect(summary).toBeUndefined();
      await clock.advance(1);
      await vi.waitFor(() => expect(summary).toMatchObject({ placed: 0, skipped: 1 }));
      expect(dialled).toEqual([]);
      expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
        callStatus: 'pending',
        hasBeenCalled: false,
        skipReason: 'do_not_call_unavailable',
      });
      expect(warnings).toContain('The do-not-call check failed; the lead is skipped, not called.');
    });

    it('stops at once while the list is asked: stop() does not wait for Redis', async () => {
      const { store, dialer, dialled, asked } = await setUp();
      const result = await dialer.trigger(principal);
      if (result.outcome !== 'started') throw new Error('no run started');
      await vi.waitFor(() => expect(asked()).toBe(1));
      let stopped = false;
      void dialer.stop().then(() => {
        stopped = true;
      });
      // The clock stands still: only the stop ends the wait.
      await vi.waitFor(() => expect(stopped).toBe(true));
      expect((await result.finished)[0]).toMatchObject({ placed: 0, stoppedBy: 'stopped' });
      expect(dialled).toEqual([]);
      expect((await store.getLead(tenantId, 'lead-001'))?.skipReason).toBeUndefined();
    });
  },
);

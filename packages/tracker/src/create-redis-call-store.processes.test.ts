import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  clockFrom,
  connectTestRedis,
  deleteKeys,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
  waitForExit,
} from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { buildScenario } from './__tests__/multi-process-scenario';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { t0 } from './make-call-event';

const redis = await connectTestRedis();
const storePrefix = uniquePrefix('tracker-mp-store');
const busPrefix = uniquePrefix('tracker-mp-bus');
const worker = fileURLToPath(new URL('./__tests__/tracker-worker-process.ts', import.meta.url));
const callsPerTenant = 30;

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, storePrefix);
  await deleteKeys(redis, busPrefix);
  redis.disconnect();
});

interface PublishedLine {
  worker: string;
  id: string;
  type: string;
  tenantId: string;
  callId: string;
  outcome: string;
}

describe.skipIf(!redis)('tracker on one Redis, two processes', () => {
  it('ends every call right and publishes exactly one call.ended per call in total', async () => {
    const scenario = buildScenario(callsPerTenant);
    const bus = createRedisBus({ redis: redis!, prefix: busPrefix });
    const subscriptions = ['tenant-p', 'tenant-q'].map((tenantId) =>
      bus.subscribe({ tenantId, types: ['call.ended', 'test.marker'] }),
    );
    await Promise.all(subscriptions.map((subscription) => subscription.ready));

    const published: PublishedLine[] = [];
    let ready = 0;
    let onReady: () => void = () => {};
    const allReady = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const children = [1, 2].map((seed) =>
      spawnTypeScript(worker, {
        args: [testRedisUrl, storePrefix, busPrefix, String(seed), String(callsPerTenant)],
        onLine: (line) => {
          if (line === 'ready') {
            ready += 1;
            if (ready === 2) onReady();
          } else if (line.startsWith('{')) {
            published.push(JSON.parse(line) as PublishedLine);
          }
        },
      }),
    );
    await allReady;
    for (const child of children) child.stdin?.write('go\n');
    expect(await Promise.all(children.map(waitForExit))).toEqual([0, 0]);

    // Everything the children published is on the bus before a marker published now.
    const endsOnBus = new Map<string, string[]>();
    for (const [index, subscription] of subscriptions.entries()) {
      const tenantId = index === 0 ? 'tenant-p' : 'tenant-q';
      await bus.publish({
        id: `marker:${tenantId}`,
        type: 'test.marker',
        tenantId,
        provider: 'calltrack',
        occurredAt: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
        data: {},
      });
      for await (const message of subscription) {
        if (message.type !== 'event') throw new Error(`unexpected ${message.type}`);
        if (message.event.type === 'test.marker') break;
        const key = `${tenantId}/${message.event.callId}`;
        endsOnBus.set(key, [...(endsOnBus.get(key) ?? []), message.event.status ?? '']);
      }
    }

    const reader = createCallTracker({
      bus: { publish: async () => ({ duplicate: false }) },
      store: createRedisCallStore({ redis: redis!, prefix: storePrefix }),
      // The children's clock: the scenario's calls happen around t0.
      clock: clockFrom(t0),
    });
    for (const call of scenario) {
      const key = `${call.tenantId}/${call.callId}`;
      const state = await reader.getCall(call.tenantId, call.callId);
      expect(state, key).toBeDefined();
      expect(call.endStatuses, key).toContain(state!.status);
      expect(endsOnBus.get(key), key).toEqual([state!.status]);
      const endsByChildren = published.filter(
        (line) => line.type === 'call.ended' && `${line.tenantId}/${line.callId}` === key,
      );
      expect(endsByChildren, key).toHaveLength(1);
      expect(state, key).toMatchObject({
        active: false,
        startedAt: call.events[0]!.occurredAt,
        answeredAt: call.events[2]!.occurredAt,
        recordingUrl: `https://api.example.com/${call.callId}.mp3`,
        analysis: { summary: 'The caller asked about opening hours.' },
      });
      if (call.endStatuses.length === 1) {
        expect(state, key).toMatchObject({
          endedAt: call.events[3]!.occurredAt,
          durationMs: call.talkMs,
        });
      }
    }
    expect(endsOnBus.size).toBe(scenario.length);
    for (const tenantId of ['tenant-p', 'tenant-q']) {
      expect(await reader.countActiveCalls(tenantId)).toEqual({ total: 0, byBranch: {} });
      const analytics = await reader.getAnalytics(tenantId, { from: t0 - 3_600_000 });
      // Each call ended once; a call whose end arrived before any other status was never active.
      expect(analytics.totals.endedCalls).toBe(callsPerTenant);
      expect(analytics.totals.startedCalls).toBeLessThanOrEqual(callsPerTenant);
    }
    // Every event was published by one process only (ids repeat across the two tenants).
    const ids = published.map((line) => `${line.tenantId}/${line.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    // Published inside the apply script (a Redis bus on the same Redis): nothing was left to
    // confirm or to publish from the outbox.
    for (const tenantId of ['tenant-p', 'tenant-q']) {
      expect(await redis!.zcard(`${storePrefix}:{${tenantId}}:outbox`)).toBe(0);
    }
    // Both processes really raced: each of them won some of the ends.
    const winners = new Set(
      published.filter((line) => line.type === 'call.ended').map((line) => line.worker),
    );
    expect([...winners].sort()).toEqual(['1', '2']);
    await bus.close();
  }, 60_000);
});

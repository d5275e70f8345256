// Two processes ingest the same calls through the one-step path (Redis store and Redis bus on
// one Redis: each event applied and published by one script) and are killed with SIGKILL in the
// middle. The provider then retries every event into a fresh tracker. Counted on the bus: no
// event lost, none repeated, exactly one call.ended per call; nothing left leased or in the
// outbox for maintenance.
import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent } from '@calltrack/core';
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
import { readBus } from './__tests__/bus-reader';
import { buildScenario } from './__tests__/multi-process-scenario';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { t0 } from './make-call-event';

const redis = await connectTestRedis();
const storePrefix = uniquePrefix('tracker-kill-store');
const busPrefix = uniquePrefix('tracker-kill-bus');
const worker = fileURLToPath(new URL('./__tests__/tracker-worker-process.ts', import.meta.url));
const callsPerTenant = 40;
const tenants = ['tenant-p', 'tenant-q'];

afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, storePrefix);
  await deleteKeys(redis, busPrefix);
  redis.disconnect();
});

describe.skipIf(!redis)('tracker processes killed with SIGKILL mid-ingest (one step)', () => {
  it('loses and repeats nothing: every applied event is on the bus once, one call.ended per call', async () => {
    const scenario = buildScenario(callsPerTenant);
    const bus = createRedisBus({ redis: redis!, prefix: busPrefix, maxBufferedMessages: 10_000 });
    const readers = tenants.map((tenantId) => readBus(bus, tenantId));
    await Promise.all(readers.map((reader) => reader.ready));

    // Each child is killed once it has published `killAfter` events (its share is ~600).
    const killAfter = [60, 140];
    let ready = 0;
    let onReady: () => void = () => {};
    const allReady = new Promise<void>((resolve) => {
      onReady = resolve;
    });
    const publishedBy = [0, 0];
    const children = [1, 2].map((seed, index) => {
      const child = spawnTypeScript(worker, {
        args: [testRedisUrl, storePrefix, busPrefix, String(seed), String(callsPerTenant)],
        onLine: (line) => {
          if (line === 'ready') {
            ready += 1;
            if (ready === 2) onReady();
          } else if (line.startsWith('{')) {
            publishedBy[index]! += 1;
            if (publishedBy[index] === killAfter[index]) child.kill('SIGKILL');
          }
        },
      });
      return child;
    });
    await allReady;
    for (const child of children) child.stdin?.write('go\n');
    const exits = await Promise.all(children.map(waitForExit));
    // Killed mid-run, not finished (a child that finished would have exited with 0).
    expect(exits).toEqual([null, null]);
    // (Lines already in the pipe when the signal landed are still read.)
    for (const [index, count] of publishedBy.entries()) {
      expect(count).toBeGreaterThanOrEqual(killAfter[index]!);
    }

    // The provider retries every webhook (a superset of the unanswered ones), in order.
    const recovery = createCallTracker({
      bus,
      store: createRedisCallStore({ redis: redis!, prefix: storePrefix }),
      clock: clockFrom(t0),
      logger: {},
    });
    const everything: CallEvent[] = scenario.flatMap((call) => call.events);
    for (const event of everything) await recovery.ingest(event);

    const onBus = new Map<string, CallEvent[]>();
    for (const [index, reader] of readers.entries())
      onBus.set(tenants[index]!, await reader.drain());
    for (const [tenantId, events] of onBus) {
      const ids = events.map((event) => event.id);
      // None repeated.
      expect(new Set(ids).size, tenantId).toBe(ids.length);
      for (const call of scenario.filter((entry) => entry.tenantId === tenantId)) {
        const key = `${tenantId}/${call.callId}`;
        const ofCall = events.filter((event) => event.callId === call.callId);
        const ends = ofCall.filter((event) => event.type === 'call.ended');
        expect(ends, key).toHaveLength(1);
        const state = await recovery.getCall(tenantId, call.callId);
        expect(call.endStatuses, key).toContain(state!.status);
        expect(ends[0]!.status, key).toBe(state!.status);
        // None lost: every event the store applied is on the bus (marked done), and nothing is
        // left leased, waiting for a confirmation or an outbox run.
        const hash = await redis!.hgetall(`${storePrefix}:{${tenantId}}:call:${call.callId}`);
        const done = Object.entries(hash)
          .filter(([field, mark]) => field.startsWith('e:') && mark === 'd')
          .map(([field]) => field.slice(2))
          .sort();
        expect(ofCall.map((event) => event.id).sort(), key).toEqual(done);
        const leased = Object.entries(hash).filter(
          ([field, mark]) => field.startsWith('e:') && mark !== 'd' && mark !== 'i',
        );
        expect(leased, key).toEqual([]);
        expect(hash, key).not.toHaveProperty('endEvent');
      }
      expect(await redis!.zcard(`${storePrefix}:{${tenantId}}:outbox`)).toBe(0);
    }
    expect(await recovery.runMaintenance()).toMatchObject({ republished: 0 });
    await Promise.all(readers.map((reader) => reader.close()));
    await bus.close();
  }, 120_000);
});

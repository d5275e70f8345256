// The tracker's maintenance (outbox, reaper, long-call alerts) on a Redis client that has ended
// (its `retryStrategy` gave up, or the app called quit()): every run fails alike, a bug or a
// shutdown rather than an outage, so the log says so once, not once a run. On a redis-server of
// this file's own; the maintenance timer moved by fake timers, not waited for.
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { endableRedisClients, makeCallEvent } from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CallStore } from './call-store';
import { createCallTracker } from './create-call-tracker';
import { createMemoryCallStore } from './create-memory-call-store';
import { createRedisCallStore } from './create-redis-call-store';

const clients = endableRedisClients();
const minute = 60_000;
const endedLine =
  'Tracker maintenance runs fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.';

/** Counts the maintenance runs (each lists the tenants first). */
function countingRuns(store: CallStore): { store: CallStore; runs: () => number } {
  let runs = 0;
  return {
    store: {
      ...store,
      listTenants: () => {
        runs += 1;
        return store.listTenants();
      },
    },
    runs: () => runs,
  };
}

describe("the tracker's maintenance on a Redis client that has ended", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('logs the store’s ended client once over ten runs', async () => {
    const redis = clients.connect();
    if (!redis) return;
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { store, runs } = countingRuns(
      createRedisCallStore({ redis, prefix: 'closed:tracker-maintenance' }),
    );
    const logged: string[] = [];
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      store,
      maintenanceIntervalMs: minute,
      logger: { error: (message) => logged.push(message) },
    });
    try {
      await tracker.ingest(makeCallEvent({ tenantId: 'tenant-a' }));
      tracker.start();
      await clients.end(redis);
      await vi.advanceTimersByTimeAsync(10 * minute);
      expect(runs()).toBe(10);
      expect(logged).toEqual([endedLine]);
    } finally {
      await tracker.stop();
    }
  });

  it('logs the bus’s ended client once while each run publishes an end and an alert again', async () => {
    const redis = clients.connect();
    if (!redis) return;
    // Date too: each run claims the end again once its publish lease has run out.
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    const { store, runs } = countingRuns(createMemoryCallStore());
    const bus = createRedisBus({ redis, prefix: 'closed:tracker-bus' });
    const logged: string[] = [];
    const tracker = createCallTracker({
      bus,
      store,
      maintenanceIntervalMs: minute,
      publishLeaseMs: 1000,
      // CA-long is long after 5 minutes: each run after that claims its alert again.
      alerts: { longCallMs: 5 * minute },
      logger: { error: (message) => logged.push(message) },
    });
    try {
      const at = { occurredAt: new Date().toISOString(), receivedAt: new Date().toISOString() };
      await tracker.ingest(makeCallEvent({ ...at, callId: 'CA-end', type: 'call.ringing' }));
      // Another tenant's: the failed republish ends the first tenant's run before its long calls.
      await tracker.ingest(
        makeCallEvent({ ...at, tenantId: 'tenant-b', callId: 'CA-long', type: 'call.ringing' }),
      );
      await clients.end(redis);
      const ended = makeCallEvent({
        ...at,
        callId: 'CA-end',
        type: 'call.ended',
        status: 'completed',
      });
      // Its publish fails at once (logged, as any ingest's): the end waits in the outbox.
      await expect(tracker.ingest(ended)).rejects.toMatchObject({ code: 'redis_client_closed' });
      logged.length = 0;
      tracker.start();
      await vi.advanceTimersByTimeAsync(10 * minute);
      expect(runs()).toBe(10);
      expect(logged).toEqual([endedLine]);
    } finally {
      await tracker.stop();
      await bus.close();
    }
  });
});

// The dispatcher's fan-out while its store's Redis refuses writes (out of memory under
// `noeviction`): the batch of bus events is retried with backoff for as long as the outage
// lasts, and each refused retry must not reach `onError` again. The backoff waits on the
// dispatcher's clock, which the test moves. On a redis-server of this file's own (CONFIG SET
// never touches the shared test Redis).
import { createMemoryBus } from '@calltrack/bus';
import {
  makeCallEvent,
  type RedisServerProcess,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { WebhookClock } from './webhook-clock';
import type { WebhookStore } from './webhook-store';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe('fan-out while Redis refuses writes', () => {
  it('reports the refused batch once, however often it is retried, and once when it works again', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    redis.on('error', () => {});
    const redisStore = createRedisWebhookStore({ redis, prefix: 'fan-out-outage' });
    // Counts fan-out's attempts to create deliveries, and lets the test wait for the next ones.
    const attempts = { failed: 0, worked: 0 };
    let onAttempt: () => void = () => {};
    const next = (check: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        onAttempt = () => {
          if (!check()) return;
          onAttempt = () => {};
          // The failure reaches the follower's handler after this one.
          setImmediate(resolve);
        };
      });
    const store: WebhookStore = {
      ...redisStore,
      async createDeliveries(...args) {
        try {
          const created = await redisStore.createDeliveries(...args);
          attempts.worked += 1;
          return created;
        } catch (error) {
          attempts.failed += 1;
          throw error;
        } finally {
          onAttempt();
        }
      },
    };
    // The test clock, noting how long each timer armed on it waits: fan-out's backoffs.
    const testClock = createTestClock();
    const waits: number[] = [];
    const clock: WebhookClock = {
      ...testClock,
      setTimer(at, callback) {
        waits.push(at - testClock.now());
        return testClock.setTimer(at, callback);
      },
    };
    const bus = createMemoryBus();
    const reported: Error[] = [];
    let backReported: () => void = () => {};
    const back = new Promise<void>((resolve) => {
      backReported = resolve;
    });
    const dispatcher = createWebhookDispatcher({
      bus,
      store,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      clock,
      onError: (error) => {
        reported.push(error);
        if (error.message.includes('works again')) backReported();
      },
    });
    try {
      await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' });
      // Fan-out only: every delivery is queued, none is sent.
      await dispatcher.start({ deliver: false });
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await bus.publish(
        makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
      );
      // The first attempt, then a retry each time the clock reaches the end of its backoff.
      await next(() => attempts.failed >= 1);
      for (const [retry, wait] of [250, 500, 1_000].entries()) {
        expect(waits).toEqual([250, 500, 1_000].slice(0, retry + 1));
        testClock.advance(wait);
        await next(() => attempts.failed >= retry + 2);
      }
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      await admin.config('SET', 'maxmemory', '0');
      // The retry after 2,000 ms of backoff creates the deliveries and queues them.
      expect(waits).toEqual([250, 500, 1_000, 2_000]);
      testClock.advance(2_000);
      await back;
      expect(attempts).toEqual({ failed: 4, worked: 1 });
      // Measured on the same clock: 250 + 500 + 1,000 + 2,000 ms.
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        'Fanning bus events out to webhooks works again after 3.8 s and 4 failures (only the first was reported).',
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await dispatcher.close();
      await bus.close();
      redis.disconnect();
    }
  });
});

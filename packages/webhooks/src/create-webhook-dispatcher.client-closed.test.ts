// The dispatcher's fan-out on a store whose Redis client has ended (its `retryStrategy` gave up,
// or the app called quit()): the batch of bus events is retried with backoff for as long as the
// dispatcher runs, every retry failing alike, a bug or a shutdown rather than an outage. It must
// reach `onError` once, saying so, not at every retry. The backoff waits on the dispatcher's
// clock, which the test moves. On a redis-server of this file's own.
import { createMemoryBus } from '@calltrack/bus';
import { endableRedisClients, makeCallEvent } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { WebhookClock } from './webhook-clock';

const clients = endableRedisClients();

/** Lets background work run (turns of the event loop, no time) until `done`. */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !done(); turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('fan-out on a store whose Redis client has ended', () => {
  it('reports it once over ten retries of the batch', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const store = createRedisWebhookStore({ redis, prefix: 'closed:webhooks-fan-out' });
    // The test clock, noting each timer armed on it: one per failed try of the batch (its backoff).
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
    const dispatcher = createWebhookDispatcher({
      bus,
      store,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      clock,
      onError: (error) => reported.push(error),
    });
    try {
      await dispatcher.createEndpoint('acme', { url: 'http://127.0.0.1:9/hooks' });
      // Fan-out only: nothing is sent.
      await dispatcher.start({ deliver: false });
      await clients.end(redis);
      await bus.publish(
        makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
      );
      await until(() => waits.length === 1);
      for (let retry = 2; retry <= 11; retry += 1) {
        testClock.advance(waits.at(-1)!);
        await until(() => waits.length === retry);
      }
      expect(waits).toHaveLength(11);
      expect(reported.map((error) => error.message)).toEqual([
        'Webhook fan-out steps fail: their Redis client has ended (the app called quit() or disconnect(), or its retryStrategy gave up), a bug or a shutdown, not an outage. Reported once: they fail until the client connects again.',
      ]);
      expect(reported[0]!.cause).toMatchObject({ code: 'redis_client_closed' });
    } finally {
      await dispatcher.close();
      await bus.close();
    }
  });
});

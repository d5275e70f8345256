// The README: "A process that only serves the API can skip `start()`, or run
// `start({ deliver: false })` / `start({ subscribe: false })` to split following the bus from
// delivering." Two dispatchers on one Redis store, each with its own user-agent so the receiver
// tells which process sent: the one that follows the bus without delivering queues the
// deliveries (no direct first attempt), and the one that delivers without following sends them.
import { createMemoryBus } from '@calltrack/bus';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  startWebhookReceiver,
  uniquePrefix,
} from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

describe('start({ deliver: false }) and start({ subscribe: false }) in two processes', () => {
  it('fans out in the one that follows the bus and sends from the one that delivers, once', async () => {
    const redis = await connectTestRedis();
    if (!redis) return;
    const prefix = uniquePrefix('webhooks-split');
    const bus = createMemoryBus();
    const receiver = await startWebhookReceiver();
    const options = { bus, allowHttp: true, allowedCidrs: ['127.0.0.0/8'], retryJitter: 0 };
    const follower = createWebhookDispatcher({
      ...options,
      store: createRedisWebhookStore({ redis, prefix }),
      userAgent: 'follower',
    });
    const deliverer = createWebhookDispatcher({
      ...options,
      store: createRedisWebhookStore({ redis, prefix }),
      userAgent: 'deliverer',
    });
    try {
      const { endpoint } = await follower.createEndpoint('acme', {
        url: `${receiver.url}/hooks`,
      });
      await follower.start({ deliver: false });
      await deliverer.start({ subscribe: false });
      const events = [1, 2, 3].map((n) =>
        makeCallEvent({
          tenantId: 'acme',
          type: 'call.ended',
          status: 'completed',
          callId: `CA${n}`,
        }),
      );
      for (const event of events) await bus.publish(event);
      const received = await receiver.waitFor(3, { path: '/hooks' });
      expect(received.map((request) => request.headers['user-agent'])).toEqual([
        'deliverer',
        'deliverer',
        'deliverer',
      ]);
      expect(new Set(received.map((request) => request.headers['webhook-id'])).size).toBe(3);
      // Each attempt is recorded after its request was answered.
      const recorded = async () =>
        (await deliverer.listAttempts('acme', endpoint.id, { limit: 100 })).attempts;
      for (let tries = 0; tries < 500 && (await recorded()).length < 3; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await recorded()).toHaveLength(3);
    } finally {
      await receiver.close();
      await follower.close();
      await deliverer.close();
      await bus.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
    }
  });
});

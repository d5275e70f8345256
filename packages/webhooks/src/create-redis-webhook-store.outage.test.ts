import { createMemoryBus } from '@calltrack/bus';
import {
  makeCallEvent,
  type PersistentRedisServer,
  redisRequired,
  startPersistentRedisServer,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

let server: PersistentRedisServer | undefined;
let receiver: WebhookReceiver | undefined;

afterAll(async () => {
  await receiver?.close();
  await server?.stop();
});

async function startServer(): Promise<PersistentRedisServer | undefined> {
  try {
    return await startPersistentRedisServer();
  } catch (error) {
    if (redisRequired) throw error;
    return undefined; // no redis-server on this machine
  }
}

describe('Redis killed and restarted under the dispatcher', () => {
  it('loses no event and repeats only what was in flight', async () => {
    server = await startServer();
    if (!server) return;
    receiver = await startWebhookReceiver();
    const redis = new Redis(server.url, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
    const clock = createTestClock(Math.floor(Date.now() / 1000) * 1000);
    const bus = createMemoryBus();
    const errors: Error[] = [];
    const store = createRedisWebhookStore({ redis, lockDurationMs: 1000, stalledIntervalMs: 500 });
    const dispatcher = createWebhookDispatcher({
      bus,
      store,
      clock,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      retrySchedule: [60_000],
      retryJitter: 0,
      timeoutMs: 2000,
      onError: (error) => errors.push(error),
    });
    await dispatcher.createEndpoint('acme', { url: `${receiver.url}/ok` });
    await dispatcher.createEndpoint('acme', { url: `${receiver.url}/flaky` });
    receiver.setDefault('/flaky', { status: 503 });
    await dispatcher.start();
    const publish = async (count: number) => {
      for (let index = 0; index < count; index += 1) {
        await bus.publish(
          makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
        );
      }
    };
    await publish(10);
    await receiver.waitFor(10, { path: '/ok' });
    await receiver.waitFor(10, { path: '/flaky' }); // each has a retry scheduled in 60 s

    await server.kill();
    // Published while Redis is down: the dispatcher keeps them until it can queue them.
    await publish(10);
    await server.restart();
    receiver.setDefault('/flaky', { status: 200 });
    await receiver.waitFor(20, { path: '/ok', timeoutMs: 30_000 });
    clock.advance(60_000);
    await receiver.waitFor(30, { path: '/flaky', timeoutMs: 30_000 });

    const unique = (path: string) =>
      new Set(receiver!.received(path).map((r) => r.headers['webhook-id'])).size;
    expect(unique('/ok')).toBe(20);
    expect(unique('/flaky')).toBe(20);
    const repeatedOk = receiver.received('/ok').length - 20;
    // /flaky: 10 failed first attempts, then 10 retries and 10 first attempts that succeed.
    const repeatedFlaky = receiver.received('/flaky').length - 30;
    expect(repeatedOk).toBe(0);
    expect(repeatedFlaky).toBe(0);
    console.log(
      `Redis kill -9 + restart (AOF): 20 events x 2 endpoints, none lost, repeated ${repeatedOk + repeatedFlaky}; ${errors.length} background errors reported while it was down`,
    );
    await dispatcher.close();
    redis.disconnect();
  }, 90_000);
});

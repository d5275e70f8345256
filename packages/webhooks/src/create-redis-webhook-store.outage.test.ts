import { createMemoryBus } from '@calltrack/bus';
import {
  makeCallEvent,
  type PersistentRedisServer,
  redisRequired,
  startOwnRedisServer,
  startPersistentRedisServer,
  startWebhookReceiver,
  stopOwnRedisServer,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { storedEndpoint } from './__tests__/stored-endpoint';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { DeliveryJob } from './webhook-delivery';

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

describe('a dispatcher closed while Redis is down', () => {
  // BullMQ's graceful worker close waits for its blocking connection to end, which it never did
  // while Redis was unreachable: a process shutting down during an outage hung in close().
  // With an offline queue (ioredis' default) the queue's connection waited for ever too: it was
  // given `maxRetriesPerRequest: null`, which only BullMQ's blocking worker connection needs, and
  // BullMQ's queue, made at the first enqueue, waited for Redis to be ready; close() waits for a
  // direct attempt's fallback enqueue.
  it.each([
    ['the options the scaling guide gives', { lazyConnect: true, enableOfflineQueue: false }],
    ['an offline queue (the default)', {}],
  ])(
    'closes at once with %s, and the retry it had scheduled runs from another process once Redis is back',
    async (_name, clientOptions) => {
      const persistent = await startServer();
      if (!persistent) return;
      const hooks = await startWebhookReceiver();
      const clock = createTestClock(Math.floor(Date.now() / 1000) * 1000);
      // Commands give up after one failed reconnect while Redis is down.
      const connect = () => {
        const redis = new Redis(persistent.url, { maxRetriesPerRequest: 1, ...clientOptions });
        redis.on('error', () => {});
        return redis;
      };
      const ready = async (redis: Redis) => {
        if (redis.status === 'wait') await redis.connect();
        else if (redis.status !== 'ready')
          await new Promise((resolve) => redis.once('ready', resolve));
      };
      const dispatcherOn = (redis: Redis) => {
        const store = createRedisWebhookStore({
          redis,
          lockDurationMs: 1000,
          stalledIntervalMs: 500,
        });
        const dispatcher = createWebhookDispatcher({
          bus,
          store,
          clock,
          allowHttp: true,
          allowedCidrs: ['127.0.0.0/8'],
          retrySchedule: [60_000],
          retryJitter: 0,
          timeoutMs: 2000,
          onError: () => {},
        });
        return { store, dispatcher };
      };
      const bus = createMemoryBus();
      const firstRedis = connect();
      const first = dispatcherOn(firstRedis);
      const secondRedis = connect();
      try {
        await ready(firstRedis);
        await first.dispatcher.createEndpoint('acme', { url: `${hooks.url}/flaky` });
        hooks.setDefault('/flaky', { status: 503 });
        await first.dispatcher.start();
        await bus.publish(
          makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
        );
        await hooks.waitFor(1, { path: '/flaky' }); // failed: a retry is scheduled in 60 s

        await persistent.kill();
        const closing = first.dispatcher
          .close()
          .then(() => first.store.close())
          .then(() => 'closed');
        const waited = new Promise((resolve) => setTimeout(() => resolve('still closing'), 10_000));
        expect(await Promise.race([closing, waited])).toBe('closed');

        await persistent.restart();
        await ready(secondRedis);
        hooks.setDefault('/flaky', { status: 200 });
        const second = dispatcherOn(secondRedis);
        await second.dispatcher.start();
        clock.advance(60_000);
        const requests = await hooks.waitFor(2, { path: '/flaky', timeoutMs: 20_000 });
        expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
        await second.dispatcher.close();
        await second.store.close();
      } finally {
        firstRedis.disconnect();
        secondRedis.disconnect();
        await hooks.close();
        await persistent.stop();
      }
    },
    60_000,
  );
});

describe('a client with the outage options the scaling guide recommends', () => {
  it('still runs queued deliveries: the worker’s blocking wait is not cut short by commandTimeout', async () => {
    const own = await startOwnRedisServer();
    if (!own.server) return;
    // A commandTimeout shorter than BullMQ's blocking wait: on the worker's own connection every
    // BZPOPMIN timed out client-side while Redis still held it, and every command queued behind
    // it on that connection timed out too, so queued jobs never ran.
    const redis = new Redis(own.server.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 50,
    });
    redis.on('error', () => {});
    const store = createRedisWebhookStore({ redis, lockDurationMs: 1000, stalledIntervalMs: 100 });
    try {
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      const now = Date.now();
      await store.createEndpoint(storedEndpoint('ep_fast', now), 10);
      const ran: DeliveryJob[] = [];
      store.startWorker(
        async (job) => {
          ran.push(job);
          return { type: 'done' };
        },
        { concurrency: 1, clock: createTestClock(now) },
      );
      // Idle long enough for the worker to block, then a delivery whose creator died: the
      // sweeper queues it and only the worker can run it.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.createDeliveries(
        {
          id: 'msg_fast',
          tenantId: 'acme',
          eventId: 'event-fast',
          eventType: 'call.ended',
          body: '{}',
          createdAt: now,
        },
        ['ep_fast'],
        86_400_000,
        { count: 1, ms: 300 },
      );
      const deadline = Date.now() + 15_000;
      while (ran.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(ran.map((job) => job.messageId)).toEqual(['msg_fast']);
    } finally {
      await store.close();
      redis.disconnect();
      await stopOwnRedisServer(own);
    }
  }, 30_000);
});

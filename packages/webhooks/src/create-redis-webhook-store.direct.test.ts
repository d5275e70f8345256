import { createMemoryBus } from '@calltrack/bus';
import {
  connectTestRedis,
  deleteKeys,
  makeCallEvent,
  startWebhookReceiver,
  uniquePrefix,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { storedEndpoint } from './__tests__/stored-endpoint';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { DeliveryJob } from './webhook-delivery';

let redis: Redis | undefined;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await connectTestRedis();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  redis?.disconnect();
});

/** Job ids BullMQ was ever given in the queue under `prefix` (its event stream's `added`). */
async function addedJobs(client: Redis, prefix: string): Promise<string[]> {
  const entries = await client.xrange(`{${prefix}}:deliveries:events`, '-', '+');
  const ids: string[] = [];
  for (const [, fields] of entries) {
    const event = fields[fields.indexOf('event') + 1];
    if (event === 'added') ids.push(fields[fields.indexOf('jobId') + 1]!);
  }
  return ids;
}

const until = async (check: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('direct first attempts on the Redis store', () => {
  it('sends a first attempt without a BullMQ job; only its retry becomes one', async () => {
    if (!redis) return;
    const client = redis;
    const prefix = uniquePrefix('webhooks-direct');
    const receiver: WebhookReceiver = await startWebhookReceiver();
    const store = createRedisWebhookStore({ redis: client, prefix });
    const dispatcher = createWebhookDispatcher({
      bus: createMemoryBus(),
      store,
      clock: createTestClock(Math.floor(Date.now() / 1000) * 1000),
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      retrySchedule: [60_000],
    });
    cleanups.push(async () => {
      await dispatcher.close();
      await store.close();
      await receiver.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    });
    const ok = await dispatcher.createEndpoint('acme', { url: `${receiver.url}/ok` });
    const fail = await dispatcher.createEndpoint('acme', { url: `${receiver.url}/fail` });
    receiver.setDefault('/fail', { status: 500 });
    await dispatcher.start();
    const events = Array.from({ length: 5 }, () =>
      makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' }),
    );
    for (const event of events) await dispatcher.dispatch(event);
    await receiver.waitFor(5, { path: '/ok' });
    await receiver.waitFor(5, { path: '/fail' });
    // The failed ones are queued for their retry, each once; the successful ones never were.
    await until(async () => (await addedJobs(client, prefix)).length === 5);
    const added = await addedJobs(client, prefix);
    expect(added.every((id) => id.startsWith(`${fail.endpoint.id}_`))).toBe(true);
    expect(added.some((id) => id.startsWith(`${ok.endpoint.id}_`))).toBe(false);
    await until(
      async () => (await dispatcher.listAttempts('acme', ok.endpoint.id)).attempts.length === 5,
    );
    const log = await dispatcher.listAttempts('acme', ok.endpoint.id);
    expect(log.attempts.map((row) => row.status)).toEqual(Array(5).fill('succeeded'));
    // No lease is left behind: finished ones ended with the record, retried ones when queued.
    await until(async () => (await client.zcard(`${prefix}:{acme}:leases`)) === 0);
    expect(receiver.received('/ok')).toHaveLength(5);
  }, 30_000);

  it('queues a delivery whose lease ran out (its creator died), with its usual job id', async () => {
    if (!redis) return;
    const client = redis;
    const prefix = uniquePrefix('webhooks-lease');
    const store = createRedisWebhookStore({
      redis: client,
      prefix,
      lockDurationMs: 1000,
      stalledIntervalMs: 100,
    });
    cleanups.push(async () => {
      await store.close();
      await deleteKeys(client, prefix);
      await deleteKeys(client, `{${prefix}}`);
    });
    const now = Date.now();
    await store.createEndpoint(storedEndpoint('ep_lease', now), 10);
    const message = {
      id: 'msg_lease',
      tenantId: 'acme',
      eventId: 'event-lease',
      eventType: 'call.ended',
      body: '{}',
      createdAt: now,
    };
    const created = await store.createDeliveries(message, ['ep_lease'], 86_400_000, {
      count: 1,
      ms: 300,
    });
    expect(created).toEqual({ pending: [], leased: ['ep_lease'] });
    // The creator "dies" here: nothing records the attempt or queues a job.
    const ran: DeliveryJob[] = [];
    store.startWorker(
      async (job) => {
        ran.push(job);
        return { type: 'done' };
      },
      { concurrency: 2, clock: createTestClock(now) },
    );
    await until(async () => ran.length === 1);
    expect(ran[0]).toEqual({
      id: 'ep_lease_msg_lease',
      tenantId: 'acme',
      endpointId: 'ep_lease',
      messageId: 'msg_lease',
      trigger: 'event',
    });
    expect(await client.zcard(`${prefix}:{acme}:leases`)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ran).toHaveLength(1);
  }, 30_000);
});

// A resend of a message the endpoint never had creates the delivery, then queues its job. When
// Redis refuses the queueing (out of memory under `noeviction`, as a full production Redis), the
// caller gets a 503: the delivery must not stay pending with no job, and the caller's retry must
// leave one delivery with one job (its own, so its retries follow). On a redis-server of this
// file's own; Redis fills up right before the queueing (another client's write, played by the test).
import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import {
  type OwnRedisServer,
  refuseRedisWrites,
  startOwnRedisServer,
  startWebhookReceiver,
  stopOwnRedisServer,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { WebhookDispatcher } from './webhook-dispatcher';
import type { WebhookStore } from './webhook-store';

let own: OwnRedisServer = {};
beforeAll(async () => {
  own = await startOwnRedisServer();
});
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await own.admin?.config('SET', 'maxmemory', '0');
  await own.admin?.flushall();
});
afterAll(() => stopOwnRedisServer(own));

const prefix = 'resend-refused:webhooks';

/** A message the endpoint `/late` never had: created for another endpoint before `/late` was. */
async function setUp(admin: Redis, server: { url: string }, leaseMs?: number) {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  const redisStore = createRedisWebhookStore({
    redis,
    prefix,
    lockDurationMs: 1000,
    stalledIntervalMs: 100,
  });
  let refuseNextEnqueue = false;
  const store: WebhookStore = {
    ...redisStore,
    async createDeliveries(message, endpointIds, retentionMs, lease) {
      // A lease as short as the test says (the dispatcher's is its timeout plus 5 s).
      const shortened = lease && leaseMs !== undefined ? { ...lease, ms: leaseMs } : lease;
      return redisStore.createDeliveries(message, endpointIds, retentionMs, shortened);
    },
    async enqueue(jobs) {
      if (refuseNextEnqueue) {
        refuseNextEnqueue = false;
        await refuseRedisWrites(admin);
      }
      return redisStore.enqueue(jobs);
    },
  };
  const clock = createTestClock(Math.floor(Date.now() / 1000) * 1000);
  const receiver: WebhookReceiver = await startWebhookReceiver();
  const dispatcher: WebhookDispatcher = createWebhookDispatcher({
    bus: createMemoryBus(),
    store,
    clock,
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    retryJitter: 0,
    retrySchedule: [60_000],
    timeoutMs: 1000,
    onError: () => {},
  });
  cleanups.push(async () => {
    await dispatcher.close();
    await receiver.close();
    redis.disconnect();
  });
  const { endpoint: first } = await dispatcher.createEndpoint('acme', {
    url: `${receiver.url}/first`,
  });
  const message = {
    id: 'msg_resent',
    tenantId: 'acme',
    eventId: 'evt-resent',
    eventType: 'call.ended',
    body: '{}',
    createdAt: clock.now(),
  };
  await store.createDeliveries(message, [first.id], 86_400_000);
  const { endpoint: late } = await dispatcher.createEndpoint('acme', {
    url: `${receiver.url}/late`,
  });
  const resendRefused = async (): Promise<unknown> => {
    refuseNextEnqueue = true;
    return dispatcher.resend('acme', late.id, message.id).then(
      () => undefined,
      (error: unknown) => error,
    );
  };
  /** The attempts to `/late`, once `count` are recorded. */
  const attemptsToLate = async (count: number) => {
    for (let tries = 0; tries < 500; tries += 1) {
      const { attempts } = await dispatcher.listAttempts('acme', late.id, { limit: 100 });
      if (attempts.length >= count) return attempts;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`fewer than ${count} attempts recorded`);
  };
  return { dispatcher, store, clock, receiver, message, late, resendRefused, attemptsToLate };
}

describe('a resend refused when its job is queued', () => {
  it('leaves one delivery with its own job after the retry: sent, and retried on schedule', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const { dispatcher, store, clock, receiver, message, late, resendRefused, attemptsToLate } =
      await setUp(admin, server);

    const refused = await resendRefused();
    expect(RedisUnavailableError.isInstance(refused), String(refused)).toBe(true);
    await admin.config('SET', 'maxmemory', '0');
    await dispatcher.resend('acme', late.id, message.id);
    // Its own job queued for it, and the resend's (the store's BullMQ queue, read as BullMQ does).
    const connection = admin.duplicate();
    const queue = new Queue('deliveries', { connection, prefix: `{${prefix}}` });
    const queued = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active']);
    await queue.close();
    connection.disconnect();
    const queuedIds = queued.map((job) => job.id!).sort();
    expect(queuedIds).toHaveLength(2);
    expect(queuedIds[0]).toBe(`${late.id}_${message.id}`);
    expect(queuedIds[1]).toMatch(new RegExp(`^${late.id}_${message.id}_resend_`));

    receiver.respond('/late', { status: 500 });
    await dispatcher.start();
    await receiver.waitFor(1, { path: '/late' });
    const [failed] = await attemptsToLate(1);
    // The resend's attempt, said so in the log; its retry is the delivery's own.
    expect(failed).toMatchObject({ attempt: 1, status: 'failed', trigger: 'resend' });
    // Its retry is queued: it comes on schedule.
    clock.advance(60_000);
    await receiver.waitFor(2, { path: '/late', timeoutMs: 5_000 });
    const attempts = await attemptsToLate(2);
    expect(attempts.map((attempt) => [attempt.attempt, attempt.status, attempt.trigger])).toEqual([
      [2, 'succeeded', 'event'],
      [1, 'failed', 'resend'],
    ]);
    expect(await store.getDelivery('acme', late.id, message.id)).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
    // Nothing left that could send it again: no lease, no other job.
    expect(await admin.zcard(`${prefix}:{acme}:leases`)).toBe(0);
    expect(receiver.received('/late')).toHaveLength(2);
  }, 30_000);

  it('is not left pending with no job when nobody retries: a delivering process sends it', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const { dispatcher, store, receiver, message, late, resendRefused, attemptsToLate } =
      await setUp(admin, server, 200);

    const refused = await resendRefused();
    expect(RedisUnavailableError.isInstance(refused), String(refused)).toBe(true);
    await admin.config('SET', 'maxmemory', '0');

    // Redis takes writes again; no one retries the resend. A process that delivers takes it on.
    await dispatcher.start();
    await receiver.waitFor(1, { path: '/late', timeoutMs: 10_000 });
    expect(await attemptsToLate(1)).toMatchObject([{ attempt: 1, status: 'succeeded' }]);
    expect(await store.getDelivery('acme', late.id, message.id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
    });
  }, 30_000);
});

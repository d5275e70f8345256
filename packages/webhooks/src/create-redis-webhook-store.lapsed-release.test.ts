import { connectTestRedis, deleteKeys, uniquePrefix } from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { elapseRedisLeases } from './__tests__/elapse-redis-leases';
import { storedEndpoint } from './__tests__/stored-endpoint';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import type { DeliveryJob } from './webhook-delivery';
import type { WebhookStore } from './webhook-store';

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

const until = async (check: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** How a holder gives back what it took: the end of its attempt, or a release without one. */
const releases = {
  recordAttempt: (store: WebhookStore, holder: string, now: number) =>
    store.recordAttempt({
      attempt: {
        id: `att_${holder}`,
        tenantId: 'acme',
        endpointId: 'ep_1',
        messageId: 'msg_1',
        eventType: 'call.ended',
        url: 'https://hooks.example.com/ep_1',
        attempt: 1,
        trigger: 'event',
        status: 'failed',
        statusCode: 500,
        durationMs: 5,
        responseBody: '',
        startedAt: now,
      },
      releaseSlot: holder,
      delivery: { status: 'pending', attempts: 1, updatedAt: now },
      retentionMs: 86_400_000,
      maxAttemptsPerEndpoint: 100,
      now,
    }),
  releaseSlot: (store: WebhookStore, holder: string) =>
    store.releaseSlot('acme', 'ep_1', holder, 'msg_1'),
};

// A holder whose slot or hold ran out, and was taken by another since, frees nothing when it
// releases: a job waiting for it must not be woken then (it would find it taken, and wait again
// behind the waiters that came after it), only at the release of the one holding it now.
describe('the Redis store, a release of a slot or hold that ran out', () => {
  for (const waitsFor of ['slot', 'delivery'] as const) {
    for (const release of ['recordAttempt', 'releaseSlot'] as const) {
      it(`wakes no job waiting for the ${waitsFor} (${release}), then wakes it at the real release`, async () => {
        const client = redis!;
        const prefix = uniquePrefix('webhooks-lapsed');
        const store = createRedisWebhookStore({ redis: client, prefix });
        cleanups.push(async () => {
          await store.close();
          await deleteKeys(client, prefix);
          await deleteKeys(client, `{${prefix}}`);
        });
        const clock = createTestClock(Math.floor(Date.now() / 1000) * 1000);
        const now = clock.now();
        await store.createEndpoint(
          // One slot for the slot's waiter; room for both holders for the delivery's.
          { ...storedEndpoint('ep_1', now), maxConcurrency: waitsFor === 'slot' ? 1 : 10 },
          10,
        );
        await store.createDeliveries(
          {
            id: 'msg_1',
            tenantId: 'acme',
            eventId: 'evt-1',
            eventType: 'call.ended',
            body: '{}',
            createdAt: now,
          },
          ['ep_1'],
          86_400_000,
        );
        const begin = (id: string) =>
          store.beginAttempt(
            { id, tenantId: 'acme', endpointId: 'ep_1', messageId: 'msg_1', trigger: 'event' },
            { now, leaseMs: 60_000 },
          );
        // The first holder: an attempt of the same delivery, or one of another (the slot only).
        if (waitsFor === 'delivery') expect((await begin('lapsed')).slotWait).toBe(0);
        else expect(await store.acquireSlot('acme', 'ep_1', 'lapsed', 1, 60_000)).toBe(0);

        // The waiting job: each run's answer; its first run is answered a wait and held until
        // the first holder's slot or hold has run out, been taken by another and been released.
        const answers: (number | undefined)[] = [];
        let firstRunWaits!: () => void;
        const firstRunWaiting = new Promise<void>((resolve) => {
          firstRunWaits = resolve;
        });
        let letFirstRunEnd!: () => void;
        const firstRunEnds = new Promise<void>((resolve) => {
          letFirstRunEnd = resolve;
        });
        store.startWorker(
          async (job) => {
            const start = await store.beginAttempt(job, { now, leaseMs: 60_000 });
            answers.push(start.slotWait);
            if (start.slotWait === 0) {
              await store.releaseSlot('acme', 'ep_1', job.id, 'msg_1');
              return { type: 'done' };
            }
            if (answers.length === 1) {
              firstRunWaits();
              await firstRunEnds;
            }
            return { type: 'defer', ms: 60_000 };
          },
          { concurrency: 2, clock },
        );
        const job: DeliveryJob = {
          id: 'job',
          tenantId: 'acme',
          endpointId: 'ep_1',
          messageId: 'msg_1',
          trigger: 'event',
        };
        await store.enqueue([job]);
        await firstRunWaiting;
        expect(answers[0]).toBeGreaterThan(0);

        // The first holder's slot and hold run out; another takes what the job waits for.
        await elapseRedisLeases(client, prefix, 120_000);
        if (waitsFor === 'delivery') {
          await client.hset(`${prefix}:{acme}:dlv:ep_1:msg_1`, 'heldUntil', '0');
          expect((await begin('other')).slotWait).toBe(0);
        } else expect(await store.acquireSlot('acme', 'ep_1', 'other', 1, 60_000)).toBe(0);
        // The first holder's late release, while the job still runs: it frees nothing.
        await releases[release](store, 'lapsed', now);
        letFirstRunEnd();
        // Deferred (a minute), not run again at once as a job released while it ran would be.
        await until(
          async () =>
            answers.length > 1 ||
            (await client.zscore(`{${prefix}}:deliveries:delayed`, job.id)) !== null,
        );
        expect(answers).toHaveLength(1);

        // The release of the one holding it now wakes the job, which takes it.
        await store.releaseSlot('acme', 'ep_1', 'other', 'msg_1');
        await until(async () => answers.length > 1);
        expect(answers.slice(1)).toEqual([0]);
      });
    }
  }
});

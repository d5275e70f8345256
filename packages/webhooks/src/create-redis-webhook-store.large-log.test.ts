import { createMemoryBus } from '@calltrack/bus';
import {
  makeCallEvent,
  type RedisServerProcess,
  startOwnRedisServer,
  startWebhookReceiver,
  stopOwnRedisServer,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import type { WebhookAttempt } from './webhook-delivery';
import type { WebhookStore } from './webhook-store';

// Logs of thousands of rows, on a redis-server of this file's own (a few MB, flushed after
// each test): Lua's unpack() stops at about 8,000 values, which a log of the default 10,000
// rows passes.
let server: RedisServerProcess | undefined;
let redis: Redis | undefined;
let receiver: WebhookReceiver | undefined;

beforeAll(async () => {
  ({ server, admin: redis } = await startOwnRedisServer());
  if (server) receiver = await startWebhookReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await stopOwnRedisServer({ server, admin: redis });
});

const prefix = 'calltrack:webhooks';

/** `count` failed attempts of one endpoint, one millisecond apart, ending at `end`. */
async function fillLog(
  store: WebhookStore,
  endpoint: { id: string; url: string },
  count: number,
  end: number,
): Promise<void> {
  const records: Promise<unknown>[] = [];
  for (let index = 0; index < count; index += 1) {
    const attempt: WebhookAttempt = {
      id: `att_fill${String(index).padStart(5, '0')}`,
      tenantId: 'acme',
      endpointId: endpoint.id,
      messageId: `msg_fill${index}`,
      eventType: 'call.ended',
      url: endpoint.url,
      attempt: 1,
      trigger: 'event',
      status: 'failed',
      statusCode: 500,
      durationMs: 3,
      responseBody: '',
      error: 'HTTP 500',
      startedAt: end - count + index,
    };
    records.push(
      store.recordAttempt({
        attempt,
        retentionMs: 86_400_000,
        maxAttemptsPerEndpoint: 10_000,
        now: attempt.startedAt,
      }),
    );
  }
  await Promise.all(records);
}

describe('the Redis store with a long delivery log', () => {
  it('answers stats over a window of more than 8,000 attempts', async () => {
    if (!redis || !receiver) return;
    await redis.flushall();
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createRedisWebhookStore({ redis });
    const dispatcher = createWebhookDispatcher({ store, bus: createMemoryBus(), clock });
    try {
      const { endpoint } = await dispatcher.createEndpoint('acme', {
        url: 'https://crm.example.com/hook',
      });
      await fillLog(store, endpoint, 8010, clock.now());
      expect(await dispatcher.getStats('acme', endpoint.id)).toMatchObject({
        attempts: 8010,
        failed: 8010,
        lastError: { statusCode: 500 },
      });
    } finally {
      await dispatcher.close();
    }
  });

  it('records a delivery once over a log longer than a lowered maxAttemptsPerEndpoint, and trims it in steps', async () => {
    if (!redis || !receiver) return;
    await redis.flushall();
    const clock = createTestClock(Date.UTC(2026, 2, 1));
    const store = createRedisWebhookStore({ redis });
    const errors: Error[] = [];
    // Lowered from the default 10,000 while the endpoint's log holds 9,000 rows.
    const dispatcher = createWebhookDispatcher({
      store,
      bus: createMemoryBus(),
      clock,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      retrySchedule: [60_000],
      retryJitter: 0,
      maxAttemptsPerEndpoint: 500,
      onError: (error) => errors.push(error),
    });
    try {
      const { endpoint } = await dispatcher.createEndpoint('acme', {
        url: `${receiver.url}/long-log`,
      });
      receiver.setDefault('/long-log', { status: 500 });
      await fillLog(store, endpoint, 9000, clock.now());
      await dispatcher.start();
      const event = makeCallEvent({ tenantId: 'acme', type: 'call.ended', status: 'completed' });
      await dispatcher.dispatch(event);
      const [request] = await receiver.waitFor(1, { path: '/long-log' });
      const messageId = request!.headers['webhook-id']!;
      // Recorded (a retry in a minute), not left pending to be sent again at once.
      for (let tries = 0; tries < 500; tries += 1) {
        if ((await store.getDelivery('acme', endpoint.id, messageId))?.attempts === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await store.getDelivery('acme', endpoint.id, messageId)).toMatchObject({
        status: 'pending',
        attempts: 1,
        nextAttemptAt: clock.now() + 60_000,
      });
      expect(errors).toEqual([]);
      // Each record trims a bounded batch: the log comes down to the new bound in a few steps.
      const logKey = `${prefix}:{acme}:log:${endpoint.id}`;
      const dataKey = `${prefix}:{acme}:logdata:${endpoint.id}`;
      expect(await redis.zcard(logKey)).toBeLessThan(9001);
      for (let step = 0; step < 10; step += 1) {
        await dispatcher.sendTest('acme', endpoint.id).catch(() => {});
        clock.advance(60_000);
      }
      expect(await redis.zcard(logKey)).toBe(500);
      expect(await redis.hlen(dataKey)).toBe(500);
    } finally {
      await dispatcher.close();
    }
  });
});

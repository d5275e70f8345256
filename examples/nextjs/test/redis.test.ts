import { connectTestRedis, deleteKeys, testRedisUrl, uniquePrefix } from '@calltrack/test-utils';
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AppRouter } from '../server/app-router';
import { scriptCall, sendWebhook, webhooksOf } from './send-webhook';
import { type NextApp, startNextApp } from './start-next-app';

// Two `next start` processes on one Redis (REDIS_URL), as behind a load balancer. Skips when no
// Redis answers locally; CALLTRACK_REQUIRE_REDIS=1 (CI) fails instead.
let redis: Redis | undefined;
const prefix = uniquePrefix('example-nextjs');
const apps: NextApp[] = [];

beforeAll(async () => {
  redis = await connectTestRedis();
  if (!redis) return;
  const env = { REDIS_URL: testRedisUrl, CALLTRACK_REDIS_PREFIX: prefix };
  apps.push(...(await Promise.all([startNextApp(env), startNextApp(env)])));
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  if (redis) {
    await deleteKeys(redis, prefix);
    await redis.quit();
  }
});

function trpcClient(baseUrl: string): TRPCClient<AppRouter> {
  const url = `${baseUrl}/api/trpc`;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink<AppRouter, typeof EventSource>({ url, EventSource }),
        false: httpBatchLink<AppRouter>({ url }),
      }),
    ],
  });
}

it('shares calls between two processes: webhooks into one, live events and queries from the other', async (context) => {
  if (!redis) context.skip();
  const [receiver, reader] = apps as [NextApp, NextApp];
  const trpc = trpcClient(reader.url);
  const script = scriptCall('callerdesk', { talkDurationMs: 42_000 });

  const received: string[] = [];
  let onMessage = (): void => {};
  const ready = new Promise<void>((resolve, reject) => {
    const subscription = trpc.calltrack.onCallEvent.subscribe(
      {},
      {
        onData: ({ data }) => {
          if (data.type === 'ready') resolve();
          if (data.type === 'event' && data.event.callId === script.callId) {
            received.push(data.event.type);
            onMessage();
          }
        },
        onError: reject,
      },
    );
    context.onTestFinished(() => subscription.unsubscribe());
  });
  const receivedType = (type: string) =>
    new Promise<void>((resolve) => {
      onMessage = () => received.includes(type) && resolve();
      onMessage();
    });
  await ready;

  const answered = receivedType('call.answered');
  for (const webhook of webhooksOf(script, /^live:/)) {
    expect((await sendWebhook(receiver.url, webhook)).status).toBe(200);
  }
  await answered;
  const active = await trpc.calltrack.activeCalls.query({});
  expect(active.map((call) => call.callId)).toContain(script.callId);

  const ended = receivedType('call.ended');
  for (const webhook of webhooksOf(script, 'report')) {
    expect((await sendWebhook(receiver.url, webhook)).status).toBe(200);
  }
  await ended;
  const [stats, recent] = await Promise.all([
    trpc.campaign.stats.query(),
    trpc.campaign.recentCalls.query({ limit: 5 }),
  ]);
  expect(stats).toMatchObject({ activeCalls: 0, endedCalls: 1, completedCalls: 1 });
  expect(recent[0]).toMatchObject({
    callId: script.callId,
    status: 'completed',
    durationMs: 42_000,
  });
  expect(recent[0]!.contact).toMatch(/^\+91\*+\d{3}$/);
});

import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  connectTestRedis,
  deleteKeys,
  killAndWait,
  makeCallEvent,
  spawnTypeScript,
  startWebhookReceiver,
  testRedisUrl,
  uniquePrefix,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';

const workerFile = fileURLToPath(new URL('./__tests__/webhook-worker-process.ts', import.meta.url));
let redis: Redis | undefined;
const storePrefix = uniquePrefix('webhooks-crash');
const busPrefix = uniquePrefix('webhooks-crash-bus');
const children = new Set<ChildProcess>();
let receiver: WebhookReceiver | undefined;

beforeAll(async () => {
  redis = await connectTestRedis();
});

afterAll(async () => {
  await Promise.all([...children].map((child) => killAndWait(child)));
  await receiver?.close();
  if (redis) {
    for (const prefix of [storePrefix, `{${storePrefix}}`, busPrefix])
      await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

interface Worker {
  child: ChildProcess;
  send(line: string): void;
  waitFor(text: string): Promise<void>;
}

async function startWorker(clockStart: number): Promise<Worker> {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const child = spawnTypeScript(workerFile, {
    env: {
      REDIS_URL: testRedisUrl,
      STORE_PREFIX: storePrefix,
      BUS_PREFIX: busPrefix,
      CLOCK_START: String(clockStart),
    },
    onLine: (line) => {
      lines.push(line);
      for (const waiter of waiters) waiter();
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const waitFor = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker never printed "${text}"`)), 30_000);
      const check = () => {
        if (lines.some((line) => line.startsWith(text))) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });
  await waitFor('ready');
  return { child, send: (line) => child.stdin?.write(`${line}\n`), waitFor };
}

const byId = (requests: { headers: Record<string, string> }[]) => {
  const counts = new Map<string, number>();
  for (const request of requests) {
    const id = request.headers['webhook-id']!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
};

describe('kill -9 of a worker with deliveries in flight and retries scheduled', () => {
  it('delivers every event at least once after a restart; only the in-flight ones repeat', async () => {
    if (!redis) return;
    receiver = await startWebhookReceiver();
    const clockStart = Math.floor(Date.now() / 1000) * 1000;
    // Endpoints are created through a dispatcher that only manages (never started).
    const admin = createWebhookDispatcher({
      bus: createRedisBus({ redis, prefix: busPrefix }),
      store: createRedisWebhookStore({ redis, prefix: storePrefix }),
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    const ok = await admin.createEndpoint('acme', { url: `${receiver.url}/ok` });
    const fail = await admin.createEndpoint('acme', { url: `${receiver.url}/fail` });
    await admin.createEndpoint('acme', { url: `${receiver.url}/slow`, maxConcurrency: 4 });
    receiver.setDefault('/fail', { status: 500 });
    receiver.setDefault('/slow', 'hang');

    const first = await startWorker(clockStart);
    const publisher = createRedisBus({ redis, prefix: busPrefix });
    const events = Array.from({ length: 20 }, (_, index) =>
      makeCallEvent({
        tenantId: 'acme',
        type: 'call.ended',
        status: 'completed',
        callId: `CA-crash-${index}`,
      }),
    );
    for (const event of events) await publisher.publish(event);
    await receiver.waitFor(20, { path: '/ok', timeoutMs: 20_000 });
    await receiver.waitFor(20, { path: '/fail', timeoutMs: 20_000 });
    await receiver.waitFor(4, { path: '/slow', timeoutMs: 20_000 });
    // Every answered attempt is recorded before the crash: only the 4 hanging ones are in flight.
    for (let tries = 0; tries < 200; tries += 1) {
      const [okLog, failLog] = await Promise.all([
        admin.listAttempts('acme', ok.endpoint.id, { limit: 100 }),
        admin.listAttempts('acme', fail.endpoint.id, { limit: 100 }),
      ]);
      if (okLog.attempts.length === 20 && failLog.attempts.length === 20) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const inFlight = receiver.received('/slow').length;
    expect(inFlight).toBe(4);

    await killAndWait(first.child);
    receiver.setDefault('/fail', { status: 200 });
    receiver.setDefault('/slow', { status: 200 });
    // Published while no worker runs: picked up from the saved bus cursor.
    const late = makeCallEvent({
      tenantId: 'acme',
      type: 'call.ended',
      status: 'completed',
      callId: 'CA-late',
    });
    await publisher.publish(late);

    const second = await startWorker(clockStart);
    second.send('advance 60000'); // the scheduled retries fall due
    await second.waitFor('advanced');
    await receiver.waitFor(21, { path: '/ok', timeoutMs: 30_000 });
    await receiver.waitFor(41, { path: '/fail', timeoutMs: 30_000 });
    await receiver.waitFor(21 + inFlight, { path: '/slow', timeoutMs: 30_000 });

    const expected = 21;
    for (const path of ['/ok', '/fail', '/slow']) {
      expect([path, byId(receiver.received(path)).size]).toEqual([path, expected]);
    }
    const duplicates = (path: string) =>
      receiver!.received(path).length - byId(receiver!.received(path)).size;
    expect(duplicates('/ok')).toBe(0);
    expect(duplicates('/fail')).toBe(20); // every first attempt failed: the retry is not a duplicate
    expect(
      receiver
        .received('/fail')
        .slice(20)
        .every((r) => r.answer !== 'hang'),
    ).toBe(true);
    expect(duplicates('/slow')).toBe(inFlight);
    console.log(
      `kill -9: ${expected} events x 3 endpoints, none lost; repeated: /ok 0, /slow ${duplicates('/slow')} (the ${inFlight} in flight)`,
    );

    await killAndWait(second.child);
    await admin.close();
    await publisher.close();
  }, 120_000);
});

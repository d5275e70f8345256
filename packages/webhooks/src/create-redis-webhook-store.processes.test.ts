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
import { elapseRedisLeases } from './__tests__/elapse-redis-leases';
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

const directStorePrefix = uniquePrefix('webhooks-direct-crash');
const directBusPrefix = uniquePrefix('webhooks-direct-crash-bus');
const directEnv = { STORE_PREFIX: directStorePrefix, BUS_PREFIX: directBusPrefix };

afterAll(async () => {
  await Promise.all([...children].map((child) => killAndWait(child)));
  await receiver?.close();
  if (redis) {
    for (const prefix of [storePrefix, directStorePrefix]) {
      await deleteKeys(redis, prefix);
      await deleteKeys(redis, `{${prefix}}`);
    }
    for (const prefix of [busPrefix, directBusPrefix]) await deleteKeys(redis, prefix);
    redis.disconnect();
  }
});

/** Job ids BullMQ was ever given in the queue under `prefix` (its event stream's `added`). */
async function addedJobs(client: Redis, prefix: string): Promise<string[]> {
  const entries = await client.xrange(`{${prefix}}:deliveries:events`, '-', '+');
  const ids: string[] = [];
  for (const [, fields] of entries) {
    if (fields[fields.indexOf('event') + 1] === 'added')
      ids.push(fields[fields.indexOf('jobId') + 1]!);
  }
  return ids;
}

interface Worker {
  child: ChildProcess;
  send(line: string): void;
  waitFor(text: string): Promise<void>;
}

async function startWorker(
  clockStart: number,
  env: { STORE_PREFIX?: string; BUS_PREFIX?: string; TIMEOUT_MS?: string } = {},
): Promise<Worker> {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const child = spawnTypeScript(workerFile, {
    env: {
      REDIS_URL: testRedisUrl,
      STORE_PREFIX: storePrefix,
      BUS_PREFIX: busPrefix,
      CLOCK_START: String(clockStart),
      ...env,
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
    // The dead worker's leases and concurrency slots (request timeout 3 s + 5 s) run out.
    expect(await elapseRedisLeases(redis, storePrefix, 8_000)).toBeGreaterThan(0);
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

describe('direct first attempts across processes', () => {
  it('two processes following the bus never both send a first attempt', async () => {
    if (!redis) return;
    const local = await startWebhookReceiver();
    const env = {
      STORE_PREFIX: `${directStorePrefix}-two`,
      BUS_PREFIX: `${directBusPrefix}-two`,
    };
    const admin = createWebhookDispatcher({
      bus: createRedisBus({ redis, prefix: env.BUS_PREFIX }),
      store: createRedisWebhookStore({ redis, prefix: env.STORE_PREFIX }),
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    // A cap above both processes' permits: at the default (10) a direct attempt over the cap is
    // deferred to the queue, which this test does not need (the kill -9 test covers that mix).
    const ok = await admin.createEndpoint('acme', { url: `${local.url}/ok`, maxConcurrency: 50 });
    const clockStart = Math.floor(Date.now() / 1000) * 1000;
    const [one, two] = await Promise.all([
      startWorker(clockStart, env),
      startWorker(clockStart, env),
    ]);
    const publisher = createRedisBus({ redis, prefix: env.BUS_PREFIX });
    const count = 60;
    for (let index = 0; index < count; index += 1) {
      await publisher.publish(
        makeCallEvent({
          tenantId: 'acme',
          type: 'call.ended',
          status: 'completed',
          callId: `CA-two-${index}`,
        }),
      );
    }
    await local.waitFor(count, { path: '/ok', timeoutMs: 20_000 });
    // Both processes have handled every event once the log holds them all; then nothing more.
    for (let tries = 0; tries < 400; tries += 1) {
      const log = await admin.listAttempts('acme', ok.endpoint.id, { limit: 1000 });
      if (log.attempts.length >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const counts = byId(local.received('/ok'));
    expect(counts.size).toBe(count);
    expect([...counts.values()].every((sent) => sent === 1)).toBe(true);
    const queued = (await addedJobs(redis, env.STORE_PREFIX)).length;
    expect(queued).toBeLessThan(count); // most went directly
    console.log(
      `two processes: ${count} events, each sent once; ${count - queued} sent directly, ${queued} through BullMQ`,
    );
    await Promise.all([killAndWait(one.child), killAndWait(two.child)]);
    await admin.close();
    await publisher.close();
    await local.close();
    for (const prefix of [env.STORE_PREFIX, `{${env.STORE_PREFIX}}`, env.BUS_PREFIX])
      await deleteKeys(redis, prefix);
  }, 60_000);

  it('a process killed between creating a delivery and recording its direct attempt: another sends it after the lease', async () => {
    if (!redis) return;
    const local = await startWebhookReceiver();
    const admin = createWebhookDispatcher({
      bus: createRedisBus({ redis, prefix: directBusPrefix }),
      store: createRedisWebhookStore({ redis, prefix: directStorePrefix }),
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
    });
    const hanging = await admin.createEndpoint('acme', { url: `${local.url}/hang` });
    local.setDefault('/hang', 'hang');
    const clockStart = Math.floor(Date.now() / 1000) * 1000;
    // The lease is the request timeout plus 5 s: 8 s here (let pass on Redis' clock below).
    const first = await startWorker(clockStart, { ...directEnv, TIMEOUT_MS: '3000' });
    const publisher = createRedisBus({ redis, prefix: directBusPrefix });
    await publisher.publish(
      makeCallEvent({
        tenantId: 'acme',
        type: 'call.ended',
        status: 'completed',
        callId: 'CA-direct-crash',
      }),
    );
    await local.waitFor(1, { path: '/hang', timeoutMs: 20_000 });
    await killAndWait(first.child); // in flight: created and leased, not recorded
    expect(await addedJobs(redis, directStorePrefix)).toEqual([]);
    expect(await redis.zcard(`${directStorePrefix}:{acme}:leases`)).toBe(1);
    local.setDefault('/hang', { status: 200 });
    await elapseRedisLeases(redis, directStorePrefix, 8_000);

    const killedAt = Date.now();
    const second = await startWorker(clockStart, { ...directEnv, TIMEOUT_MS: '3000' });
    await local.waitFor(2, { path: '/hang', timeoutMs: 30_000 });
    const tookMs = Date.now() - killedAt;
    const ids = byId(local.received('/hang'));
    expect(ids.size).toBe(1); // the same message, sent again: at least once
    expect(await addedJobs(redis, directStorePrefix)).toEqual([
      `${hanging.endpoint.id}_${[...ids.keys()][0]}`,
    ]);
    for (let tries = 0; tries < 200; tries += 1) {
      const log = await admin.listAttempts('acme', hanging.endpoint.id);
      if (log.attempts.length === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const log = await admin.listAttempts('acme', hanging.endpoint.id);
    expect(log.attempts.map((row) => row.status)).toEqual(['succeeded']);
    console.log(`direct attempt lost to kill -9: sent again by another process after ${tookMs} ms`);
    await killAndWait(second.child);
    await admin.close();
    await publisher.close();
    await local.close();
  }, 60_000);
});

import { fileURLToPath } from 'node:url';
import {
  connectTestRedis,
  deleteKeys,
  killAndWait,
  spawnTypeScript,
  testRedisUrl,
  uniquePrefix,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CallControlApp, startCallControlApp } from './__tests__/start-call-control-app';
import { createRedisIdempotencyStore } from './create-redis-idempotency-store';

const redis = await connectTestRedis();
const filePrefix = uniquePrefix('tracker-call-control');
const worker = fileURLToPath(
  new URL('./__tests__/call-control-worker-process.ts', import.meta.url),
);
const customer = '+14155550123';

describe.skipIf(!redis)('POST /calls with request ids on Redis', () => {
  const apps: CallControlApp[] = [];
  const clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });
  afterAll(async () => {
    if (!redis) return;
    await deleteKeys(redis, filePrefix);
    redis.disconnect();
  });

  /** A tracker API with its own Redis connection, sharing the key prefix. */
  const handlerOn = async (app: CallControlApp, prefix: string, extra = {}) => {
    const client = new Redis(testRedisUrl);
    clients.push(client);
    return app.addApi({
      idempotency: { store: createRedisIdempotencyStore({ redis: client, prefix }) },
      ...extra,
    });
  };

  it('places one call among concurrent duplicates spread over two handlers', async () => {
    const app = await startCallControlApp({
      providerApi: { outcome: 'busy', fault: () => ({ type: 'delay', ms: 150 }) },
    });
    apps.push(app);
    const prefix = `${filePrefix}:two`;
    const handlers = [await handlerOn(app, prefix), await handlerOn(app, prefix)];
    const body = { provider: 'twilio', to: customer, requestId: `two-${process.pid}` };
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        app.api('/api/calls', { base: handlers[index % 2]!, body }),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(12).fill(202));
    expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
    expect(app.providerApi.countCalls()).toBe(1);
    // Later, on either handler: the same answer.
    for (const base of handlers) {
      const again = await app.api('/api/calls', { base, body });
      expect(again).toMatchObject({ status: 202, body: answers[0]!.body });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(app.providerApi.countCalls()).toBe(1);
  });

  // It spawns a tsx process, which alone takes seconds to boot on a loaded machine: vitest's 5 s
  // default timed it out there.
  it('a process killed (kill -9) while placing leaves its request id pending, never placed twice', async () => {
    const app = await startCallControlApp({
      providerApi: { outcome: 'busy', fault: () => ({ type: 'delay', ms: 30_000 }) },
    });
    apps.push(app);
    const prefix = `${filePrefix}:crash`;
    let announce: (url: string) => void = () => {};
    const announced = new Promise<string>((resolve) => {
      announce = resolve;
    });
    const child = spawnTypeScript(worker, {
      args: [testRedisUrl, prefix, app.providerApi.url!],
      onLine: (line) => {
        if (line.startsWith('http://')) announce(line);
      },
    });
    const childUrl = await announced;
    const body = { provider: 'twilio', to: customer, requestId: `crash-${process.pid}` };
    const lost = app.api('/api/calls', { base: childUrl, body }).catch((error: unknown) => error);
    // The provider has the call; the child waits for the provider's (late) answer.
    while (app.providerApi.countCalls() === 0)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await killAndWait(child);
    expect(await lost).toBeInstanceOf(Error);

    let now = Date.now();
    const survivor = await handlerOn(app, prefix, {
      clock: { now: () => now },
      idempotency: {
        store: createRedisIdempotencyStore({ redis: redis!, prefix }),
        waitMs: 20,
      },
    });
    expect(await app.api('/api/calls', { base: survivor, body })).toMatchObject({
      status: 409,
      body: { error: { code: 'request_in_progress' } },
    });
    now += 121_000;
    expect(await app.api('/api/calls', { base: survivor, body })).toMatchObject({
      status: 409,
      body: { error: { code: 'request_outcome_unknown' } },
    });
    // One call, ever: counted where the provider received it.
    expect(app.providerApi.countCalls({ to: customer })).toBe(1);
  }, 30_000);
});

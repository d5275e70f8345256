// A provider webhook through the tracker on a Redis store and a Redis bus, while that Redis is
// down: its own redis-server, killed with SIGKILL and restarted on the same port (the shared
// test Redis is never stopped). The client has the options the scaling guide recommends.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createRedisBus } from '@calltrack/bus/redis';
import { RedisUnavailableError } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  collectBusEvents,
  makeCallEvent,
  type RedisServerProcess,
  serveForTest,
  startRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import { computeTwilioSignature, createTwilioWebhookHandler } from '@calltrack/twilio';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCallTracker } from './create-call-tracker';
import { createRedisCallStore } from './create-redis-call-store';
import { createTrackerHandler } from './create-tracker-handler';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let server: RedisServerProcess | undefined;
const authToken = 'outage-auth-token';
const callSid = `CA${'7'.repeat(32)}`;

describe.skipIf(!installed)('a provider webhook while Redis is down (kill -9)', () => {
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await stopTestServers();
  });

  /** The tracker on `redis` behind a Twilio webhook handler and the read API, on one server. */
  const startApp = async (redis: Redis) => {
    const failures: unknown[] = [];
    const logged: unknown[][] = [];
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'outage:bus' });
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis, prefix: 'outage:tracker' }),
      logger: {},
    });
    cleanups.push(
      () => redis.disconnect(),
      () => bus.close(),
      () => tracker.stop(),
    );
    const webhook = toNodeHandler(
      createTwilioWebhookHandler({
        authToken,
        sink: tracker,
        resolveTenant: () => ({ tenantId: 'tenant-a' }),
        onError: (error) => failures.push(error),
      }),
    );
    const api = toNodeHandler(
      createTrackerHandler({
        tracker,
        basePath: '/api',
        authenticate: () => ({ tenantId: 'tenant-a' }),
        logger: { error: (...args: unknown[]) => logged.push(args) },
      }),
    );
    const http = await serveForTest(
      createServer((request, response) =>
        request.url?.startsWith('/api/') ? api(request, response) : webhook(request, response),
      ),
    );
    const post = (status: string, sequence: number, sid = callSid) => {
      const url = `${http.url}/webhooks/twilio`;
      const params = {
        AccountSid: `AC${'0'.repeat(32)}`,
        CallSid: sid,
        CallStatus: status,
        Direction: 'inbound',
        From: '+14155550100',
        To: '+14155550199',
        SequenceNumber: String(sequence),
        Timestamp: new Date().toUTCString(),
      };
      return fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': computeTwilioSignature({ authToken, url, params }),
        },
        body: new URLSearchParams(params),
      });
    };
    return { bus, tracker, http, post, failures, logged };
  };

  const expectUnavailable = async (response: Response) => {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    const body = await response.json();
    expect(body).toEqual({
      error: {
        code: 'redis_unavailable',
        message: expect.stringMatching(/^Redis cannot be reached/),
      },
    });
  };

  it('answers 503 with Retry-After within the bound, and applies the retry once Redis is back', async () => {
    const redisServer = server as RedisServerProcess;
    const commandTimeout = 1_000;
    const redis = new Redis(redisServer.url, {
      maxRetriesPerRequest: 1,
      commandTimeout,
      enableOfflineQueue: false,
    });
    const { bus, http, post, failures, logged } = await startApp(redis);
    expect((await post('ringing', 1)).status).toBe(200);

    await redisServer.kill();
    const started = performance.now();
    const refused = await post('in-progress', 2);
    expect(performance.now() - started).toBeLessThan(commandTimeout + 500);
    await expectUnavailable(refused);
    expect(failures).toHaveLength(1);
    // The read API too, logged once per request as one line (no error object, no stack).
    const read = performance.now();
    await expectUnavailable(await fetch(`${http.url}/api/calls/active`));
    expect(performance.now() - read).toBeLessThan(commandTimeout + 500);
    expect(logged).toEqual([
      [
        'The tracker read API could not reach Redis.',
        { path: '/api/calls/active', message: expect.any(String) },
      ],
    ]);

    // Back (empty): the provider's retry is applied and published once, a second copy is a
    // duplicate.
    await redisServer.restart();
    await new Promise((resolve) => redis.once('ready', resolve));
    const events = collectBusEvents(bus.subscribe({ tenantId: 'tenant-a' }));
    await bus.subscribe({ tenantId: 'tenant-a' }).ready;
    const retried = await post('in-progress', 2);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ ok: true, published: 1, duplicates: 0 });
    const again = await post('in-progress', 2);
    expect(await again.json()).toEqual({ ok: true, published: 0, duplicates: 1 });
    const sentinel = `CA${'8'.repeat(32)}`;
    expect((await post('ringing', 1, sentinel)).status).toBe(200);
    await events.waitFor((event) => event.callId === sentinel);
    expect(
      events.received
        .filter(({ event }) => event.callId === callSid)
        .map(({ event }) => event.type),
    ).toEqual(['call.answered']);
    expect((await fetch(`${http.url}/api/calls/active`)).status).toBe(200);
  }, 30_000);

  it('refuses a webhook at once while a client with ioredis defaults reconnects', async () => {
    const redisServer = server as RedisServerProcess;
    // Defaults: the offline queue on, 20 reconnect attempts per command (10 s and more).
    const redis = new Redis(redisServer.url);
    const { post } = await startApp(redis);
    expect((await post('ringing', 1, `CA${'9'.repeat(32)}`)).status).toBe(200);
    await redisServer.kill();
    if (redis.status === 'ready') await new Promise((resolve) => redis.once('close', resolve));
    const started = performance.now();
    await expectUnavailable(await post('in-progress', 2, `CA${'9'.repeat(32)}`));
    expect(performance.now() - started).toBeLessThan(1_000);
    await redisServer.restart();
    await new Promise((resolve) => redis.once('ready', resolve));
    expect((await post('in-progress', 2, `CA${'9'.repeat(32)}`)).status).toBe(200);
  }, 30_000);

  it('refuses an event while a client that was ready connects again (connecting)', async () => {
    const redisServer = server as RedisServerProcess;
    // Defaults: each reconnect attempt passes through `connecting`, which lasts up to
    // `connectTimeout` (10 s) where packets are dropped; a command sent then would wait in the
    // offline queue for the whole outage.
    const redis = new Redis(redisServer.url);
    const { tracker, post } = await startApp(redis);
    // The first event also tells that the store and the bus share a Redis (decision 30).
    expect((await post('ringing', 1, `CA${'5'.repeat(32)}`)).status).toBe(200);
    await redisServer.kill();
    const sent = await new Promise<{ outcome: Promise<unknown> }>((resolve) =>
      redis.once('connecting', () => {
        expect(redis.status).toBe('connecting');
        resolve({
          outcome: tracker.publish(makeCallEvent({ occurredAt: new Date().toISOString() })).then(
            () => 'applied once Redis was back',
            (error: unknown) => error,
          ),
        });
      }),
    );
    await redisServer.restart();
    const outcome = await sent.outcome;
    expect(RedisUnavailableError.isInstance(outcome), String(outcome)).toBe(true);
    expect((outcome as Error).message).toMatch(/the connection is connecting/);
  }, 30_000);

  it('answers 500 (logged as an error) once the client has ended and will not reconnect', async () => {
    const redisServer = server as RedisServerProcess;
    // retryStrategy giving up ends the client for good, as quit() or disconnect() does.
    const redis = new Redis(redisServer.url, { retryStrategy: () => null });
    const { http, post, failures, logged } = await startApp(redis);
    const sid = `CA${'6'.repeat(32)}`;
    expect((await post('ringing', 1, sid)).status).toBe(200);
    await redisServer.kill();
    if (redis.status !== 'end') await new Promise((resolve) => redis.once('end', resolve));
    const closed = {
      error: {
        code: 'redis_client_closed',
        message: expect.stringMatching(/^The Redis client is closed and will not reconnect/),
      },
    };
    const refused = await post('in-progress', 2, sid);
    expect(refused.status).toBe(500);
    expect(refused.headers.get('retry-after')).toBeNull();
    expect(await refused.json()).toEqual(closed);
    expect(failures).toHaveLength(1);
    const read = await fetch(`${http.url}/api/calls/active`);
    expect(read.status).toBe(500);
    expect(await read.json()).toEqual(closed);
    expect(logged).toEqual([
      [
        'The tracker read API failed.',
        {
          path: '/api/calls/active',
          error: expect.objectContaining({ code: 'redis_client_closed' }),
        },
      ],
    ]);
    await redisServer.restart();
  }, 30_000);
});

// Redis answering the store's commands with an error of its own (not an outage of the
// connection): a key of another type in the store's keyspace (WRONGTYPE), a Redis out of memory
// under `noeviction` (OOM), a master waiting for replicas (NOREPLICAS), a replica after a
// failover (READONLY). Each on redis-servers of this file's own (CONFIG SET and REPLICAOF never
// touch the shared test Redis), through a Twilio webhook handler and the read API on loopback.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { inspect } from 'node:util';
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type EventSink, RedisUnavailableError } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
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

const authToken = 'reply-errors-auth-token';
const prefix = 'replies:tracker';
const base = `${prefix}:{tenant-a}:`;
/** The caller's number: written into the event's JSON, never to be seen in a reported error. */
const callerDigits = '4155550123';

/** Everything an error reaches a log with: its own fields, causes, `command`, nested. */
const everything = (value: unknown): string =>
  inspect(value, { depth: 20, showHidden: true, maxStringLength: Number.POSITIVE_INFINITY });

/** The messages of an error and its causes. */
const messages = (error: unknown): string[] => {
  const found: string[] = [];
  for (let at = error; at instanceof Error; at = at.cause) found.push(at.message);
  return found;
};

describe.skipIf(!installed)('the Redis call store when Redis answers with an error', () => {
  let server: RedisServerProcess;
  let admin: Redis;
  beforeAll(async () => {
    server = await startRedisServer();
    admin = new Redis(server.url);
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await stopTestServers();
    await admin.config('SET', 'maxmemory', '0');
    await admin.config('SET', 'min-replicas-to-write', '0');
    await admin.flushall();
    await admin.function('FLUSH');
  });

  /**
   * The tracker on a Redis store (and a Redis bus on the same client: the one-step ingest, or a
   * memory bus: apply, then publish) behind a Twilio webhook handler and the read API.
   */
  const startApp = async (options: {
    bus: 'redis' | 'memory';
    url?: string;
    /** The bus on a client of its own (the store and the bus then check they share a Redis). */
    busClient?: boolean;
  }) => {
    const redis = new Redis(options.url ?? server.url, { maxRetriesPerRequest: 1 });
    await new Promise((resolve) => redis.once('ready', resolve));
    const busRedis = options.busClient ? new Redis(options.url ?? server.url) : redis;
    if (busRedis !== redis) cleanups.push(() => busRedis.disconnect());
    const failures: Error[] = [];
    const logged: unknown[][] = [];
    const bus: EventSink & { close?: () => Promise<void> } =
      options.bus === 'redis'
        ? createRedisBus({ redis: busRedis, prefix: 'replies:bus' })
        : createMemoryBus();
    const tracker = createCallTracker({
      bus,
      store: createRedisCallStore({ redis, prefix }),
      logger: { error: (...args: unknown[]) => logged.push(args) },
    });
    cleanups.push(
      () => redis.disconnect(),
      () => bus.close?.(),
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
    const post = (callSid: string, status: string, sequence: number) => {
      const url = `${http.url}/webhooks/twilio`;
      const params = {
        AccountSid: `AC${'0'.repeat(32)}`,
        CallSid: callSid,
        CallStatus: status,
        Direction: 'inbound',
        From: `+1${callerDigits}`,
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
    const get = (path: string) => fetch(`${http.url}/api${path}`);
    return { redis, tracker, post, get, failures, logged };
  };

  const expectUnavailable = async (response: Response, reply: RegExp) => {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    const { error } = await response.json();
    expect(error).toEqual({ code: 'redis_unavailable', message: expect.stringMatching(reply) });
  };

  for (const path of ['redis', 'memory'] as const) {
    it(`names a call hash of another type, answers 500 and leaks no values (${path} bus)`, async () => {
      const callSid = `CA${'1'.repeat(32)}`;
      const { tracker, post, failures } = await startApp({ bus: path });
      await admin.set(`${base}call:${callSid}`, 'not a hash');

      const response = await post(callSid, 'ringing', 1);
      expect(response.status).toBe(500);
      // The answer reveals nothing: the key is for the operator's log.
      expect(await response.json()).toEqual({
        error: { code: 'publish_failed', message: 'The event could not be published.' },
      });
      expect(failures).toHaveLength(1);
      expect(messages(failures[0])[1]).toMatch(
        new RegExp(
          `^The Redis call store failed applying event .+: the call hash ${base}call:${callSid} holds a string, not a hash \\(WRONGTYPE\\)`,
        ),
      );
      expect(everything(failures)).not.toContain(callerDigits);

      // What the store throws is redacted before it leaves it, not only once a handler reports
      // it: a sink called directly (a custom provider, a queue consumer) gets no values either.
      const event = makeCallEvent({ callId: callSid, from: `+1${callerDigits}` });
      const thrown = await tracker.publish(event).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(messages(thrown)[0]).toMatch(/the call hash .+ holds a string, not a hash/);
      expect(everything(thrown)).not.toContain(callerDigits);
      expect(everything(thrown)).toContain('argumentCount');
    });
  }

  it('names an index of another type, for webhooks and the read API', async () => {
    const callSid = `CA${'2'.repeat(32)}`;
    const { post, get, failures, logged } = await startApp({ bus: 'memory' });
    await admin.set(`${base}active`, 'not a sorted set');

    const response = await post(callSid, 'ringing', 1);
    expect(response.status).toBe(500);
    expect(messages(failures[0])[1]).toMatch(
      new RegExp(`the active-call index \\(sorted set\\) ${base}active holds a string, not a zset`),
    );
    expect(everything(failures)).not.toContain(callerDigits);

    const read = await get('/calls/active');
    expect(read.status).toBe(500);
    expect(await read.json()).toEqual({
      error: { code: 'internal_error', message: 'Internal server error.' },
    });
    const readFailure = logged.find(([message]) => message === 'The tracker read API failed.');
    expect(readFailure?.[1]).toMatchObject({
      path: '/api/calls/active',
      error: {
        message: expect.stringMatching(
          /^The Redis call store failed listing active calls: the active-call index .+ holds a string/,
        ),
      },
    });
  });

  it('answers 503 while Redis is out of memory, and applies the retry once it is not', async () => {
    const callSid = `CA${'3'.repeat(32)}`;
    const { post, get, failures, logged } = await startApp({ bus: 'redis' });
    expect((await post(callSid, 'ringing', 1)).status).toBe(200);

    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    await expectUnavailable(
      await post(callSid, 'in-progress', 2),
      /^Redis cannot take commands right now \(OOM /,
    );
    expect(failures).toHaveLength(1);
    expect(RedisUnavailableError.isInstance(failures[0])).toBe(true);
    expect(everything(failures)).not.toContain(callerDigits);
    // Reads work out of memory; the count's transaction is refused, and answered as an outage.
    expect((await get('/calls/active')).status).toBe(200);
    await expectUnavailable(await get('/calls/active/count'), /OOM/);
    expect(logged).toEqual([
      [
        'The tracker read API could not reach Redis.',
        { path: '/api/calls/active/count', message: expect.stringMatching(/OOM/) },
      ],
    ]);

    await admin.config('SET', 'maxmemory', '0');
    const retried = await post(callSid, 'in-progress', 2);
    expect(await retried.json()).toEqual({ ok: true, published: 1, duplicates: 0 });
    const { call } = await (await get(`/calls/active/${callSid}`)).json();
    expect(call.status).toBe('in-progress');
  });

  it('keeps using Functions after its library could not be loaded out of memory', async () => {
    const callSid = `CA${'4'.repeat(32)}`;
    const { post } = await startApp({ bus: 'redis' });
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    // The first ingest loads the library: refused out of memory, which is no refusal of Functions.
    await expectUnavailable(await post(callSid, 'ringing', 1), /OOM/);
    await admin.config('SET', 'maxmemory', '0');
    expect((await post(callSid, 'ringing', 1)).status).toBe(200);
    const libraries = (await admin.function('LIST')) as unknown[][];
    expect(libraries.map((library) => String(library[1]))).toEqual([
      expect.stringMatching(/^calltrack_ingest_/),
    ]);
  });

  it('answers 503 out of memory before the store and a bus on another client were compared', async () => {
    const callSid = `CA${'6'.repeat(32)}`;
    const { post } = await startApp({ bus: 'redis', busClient: true });
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    // The comparison writes a key first (decision 0030): refused like the apply step.
    await expectUnavailable(await post(callSid, 'ringing', 1), /OOM/);
    await admin.config('SET', 'maxmemory', '0');
    expect((await post(callSid, 'ringing', 1)).status).toBe(200);
  });

  it('answers 503 while writes wait for replicas (NOREPLICAS), and applies the retry once they do not', async () => {
    const callSid = `CA${'7'.repeat(32)}`;
    const { post, get, failures } = await startApp({ bus: 'redis' });
    expect((await post(callSid, 'ringing', 1)).status).toBe(200);

    // A master told to take writes only with a replica in sync, and none is.
    await admin.config('SET', 'min-replicas-to-write', '1');
    await expectUnavailable(
      await post(callSid, 'in-progress', 2),
      /^Redis cannot take commands right now \(NOREPLICAS /,
    );
    expect(failures).toHaveLength(1);
    expect(RedisUnavailableError.isInstance(failures[0])).toBe(true);
    expect(everything(failures)).not.toContain(callerDigits);
    expect((await get('/calls/active')).status).toBe(200);

    await admin.config('SET', 'min-replicas-to-write', '0');
    const retried = await post(callSid, 'in-progress', 2);
    expect(await retried.json()).toEqual({ ok: true, published: 1, duplicates: 0 });
  });

  it('answers 503 on a replica after a failover (READONLY), and applies the retry once promoted', async () => {
    const replica = await startRedisServer();
    cleanups.push(() => replica.stop());
    const promoted = new Redis(replica.url);
    cleanups.push(() => promoted.disconnect());
    const callSid = `CA${'5'.repeat(32)}`;
    const { post, failures } = await startApp({ bus: 'redis', url: replica.url });
    expect((await post(callSid, 'ringing', 1)).status).toBe(200);

    // The server the app talks to becomes a replica of another (a failover the client missed).
    await promoted.replicaof('127.0.0.1', server.port);
    await expectUnavailable(
      await post(callSid, 'in-progress', 2),
      /^Redis cannot take commands right now \((READONLY|LOADING) /,
    );
    expect(everything(failures)).not.toContain(callerDigits);

    await promoted.replicaof('NO', 'ONE');
    expect((await post(callSid, 'in-progress', 2)).status).toBe(200);
  });
});

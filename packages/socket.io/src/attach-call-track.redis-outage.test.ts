// A connection made while the Redis bus's server is down: its own redis-server, killed with
// SIGKILL and restarted on the same port (the shared test Redis is never stopped).
import { spawnSync } from 'node:child_process';
import { createRedisBus } from '@calltrack/bus/redis';
import { type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected, startSocketServer } from './__tests__/start-socket-server';
import { BusSubscriptionLostError } from './bus-subscription-lost-error';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let server: RedisServerProcess | undefined;

describe.skipIf(!installed)('attachCallTrack while Redis is down (kill -9)', () => {
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers subscribe_to_calls `unavailable` within attachTimeoutMs while Redis is down, and a retry once it is back gets the snapshot', async () => {
    const redisServer = server as RedisServerProcess;
    const redis = new Redis(redisServer.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'outage-bounded' });
    const { reader } = createTestTracker(bus);
    const socketServer = await startSocketServer(bus, { tracker: reader, attachTimeoutMs: 300 });
    try {
      await redisServer.kill();
      const client = socketServer.client({ token: 'token:t1:u1' });
      const log = createEventLog(client);
      await connected(client);
      for (const payload of [{}, { after: '0-0' }]) {
        const started = performance.now();
        const answer = await client.timeout(5_000).emitWithAck('subscribe_to_calls', payload);
        expect(performance.now() - started).toBeLessThan(2_000);
        expect(answer).toEqual({
          ok: false,
          error: { code: 'unavailable', message: expect.any(String), retryAfterMs: 5_000 },
        });
      }
      await redisServer.restart();
      // The connection stayed open: a retry (as the React transport makes) streams once the
      // tenant channel is back.
      let answer: unknown;
      for (let attempt = 0; attempt < 100; attempt++) {
        answer = await client.timeout(5_000).emitWithAck('subscribe_to_calls');
        if ((answer as { ok?: boolean }).ok) break;
      }
      expect(answer).toEqual({ ok: true });
      expect(client.connected).toBe(true);
      expect(await log.waitFor('active_calls', 1)).toEqual([
        expect.objectContaining({ payload: expect.objectContaining({ calls: [] }) }),
      ]);
      client.disconnect();
    } finally {
      await socketServer.close();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);

  it('accepts the handshake at once, and answers subscribe_to_calls with a snapshot once Redis is back', async () => {
    const redisServer = server as RedisServerProcess;
    const redis = new Redis(redisServer.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'outage' });
    const { reader } = createTestTracker(bus);
    const socketServer = await startSocketServer(bus, { tracker: reader });
    try {
      await redisServer.kill();
      const client = socketServer.client({ token: 'token:t1:u1' });
      const log = createEventLog(client);
      const started = performance.now();
      await connected(client);
      expect(performance.now() - started).toBeLessThan(1_000);
      const answered = client.timeout(20_000).emitWithAck('subscribe_to_calls');
      await redisServer.restart();
      expect(await answered).toEqual({ ok: true });
      expect(await log.waitFor('active_calls', 1)).toEqual([
        expect.objectContaining({ payload: expect.objectContaining({ calls: [] }) }),
      ]);
      client.disconnect();
    } finally {
      await socketServer.close();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);

  it('answers a handshake resume that outlives attachTimeoutMs with `resume_error` (unavailable), and a retry once Redis is back resumes', async () => {
    const redisServer = server as RedisServerProcess;
    const redis = new Redis(redisServer.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'outage-resume' });
    const { reader } = createTestTracker(bus);
    const errors: unknown[] = [];
    const socketServer = await startSocketServer(bus, {
      tracker: reader,
      attachTimeoutMs: 300,
      onError: (error) => errors.push(error),
    });
    try {
      const { cursor } = await bus.publish(makeEvent('t1', { id: 'seen' }));
      await redisServer.kill();
      const client = socketServer.client({ token: 'token:t1:u1', lastCursor: cursor });
      const log = createEventLog(client);
      await connected(client);
      const started = performance.now();
      const [refused] = await log.waitFor('resume_error', 1);
      expect(performance.now() - started).toBeLessThan(2_000);
      expect(refused?.payload).toEqual({
        code: 'unavailable',
        message: expect.any(String),
        retryAfterMs: 5_000,
      });
      // Told to the client, not reported: the channel reports the outage itself.
      expect(errors.filter((error) => !BusSubscriptionLostError.isInstance(error))).toEqual([]);
      expect(client.connected).toBe(true);

      const ready = new Promise((resolve) => redis.once('ready', resolve));
      await redisServer.restart();
      await ready;
      // What a client does with it: resume after the same cursor (as the ack's retry would).
      let answer: unknown;
      for (let attempt = 0; attempt < 100; attempt++) {
        answer = await client.timeout(5_000).emitWithAck('subscribe_to_calls', { after: cursor });
        if ((answer as { ok?: boolean }).ok) break;
      }
      expect(answer).toEqual({ ok: true });
      // The restarted Redis is empty: the resume says so, as it would have without the outage.
      expect(await log.waitFor('reset', 1)).toEqual([
        expect.objectContaining({ payload: { reason: 'stream-reset' } }),
      ]);
      client.disconnect();
    } finally {
      await socketServer.close();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);
});

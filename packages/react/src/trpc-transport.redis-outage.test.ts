// A tRPC server whose Redis bus's own redis-server is killed with SIGKILL and restarted on the
// same port (the shared test Redis is never stopped).
import { spawnSync } from 'node:child_process';
import { createRedisBus } from '@calltrack/bus/redis';
import { type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEvent } from './__tests__/start-sse-server';
import { startTrpcServer, testTrpcTransport } from './__tests__/start-trpc-server';
import { ids, until } from './__tests__/wait-for-state';
import { createCallTrackClient } from './create-call-track-client';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let redisServer: RedisServerProcess | undefined;

describe.skipIf(!installed)('trpcTransport while the server’s Redis is down (kill -9)', () => {
  beforeAll(async () => {
    redisServer = await startRedisServer();
  });
  afterAll(async () => {
    await redisServer?.stop();
  });

  it('subscribes again after retryDelay (not every second, as tRPC’s link would) while the server refuses the subscription, and loads once Redis is back', async () => {
    const server = redisServer as RedisServerProcess;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'react-trpc-outage' });
    // Streams tell the link to reconnect within 20 ms: it would hammer the server meanwhile.
    const trpcServer = await startTrpcServer(undefined, { bus, retryMs: 20 });
    const attempts: number[] = [];
    let retriedTwice!: () => void;
    const twice = new Promise<void>((resolve) => {
      retriedTwice = resolve;
    });
    const errors: unknown[] = [];
    const client = createCallTrackClient({
      transport: testTrpcTransport(trpcServer, 'tenant-a', {
        onError: (error) => errors.push(error),
        retryDelay: (attempt) => {
          attempts.push(attempt);
          if (attempts.length === 2) retriedTwice();
          return attempts.length < 2 ? 50 : 200;
        },
      }),
    });
    try {
      await trpcServer.tracker.ingest(callEvent('CA-1'));
      await server.kill();
      const disconnect = client.connect();
      await twice;
      // One request per attempt: the transport, not the link's 20 ms `retry:`, paces them.
      expect(attempts).toEqual([1, 2]);
      expect(trpcServer.subscriptionRequests()).toBe(2);
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(client.getSnapshot().hasSnapshot).toBe(false);
      await server.restart();
      const loaded = await until(client, (state) => state.hasSnapshot);
      expect(ids(loaded)).toEqual(['CA-1']);
      await until(client, (state) => state.connection.isConnected);
      disconnect();
    } finally {
      await trpcServer.close();
      redis.disconnect();
    }
  }, 30_000);
});

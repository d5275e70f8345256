// A Socket.IO server whose Redis bus's own redis-server is killed with SIGKILL and restarted on
// the same port (the shared test Redis is never stopped).
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRedisBus } from '@calltrack/bus/redis';
import { attachCallTrack } from '@calltrack/socket.io';
import { type RedisServerProcess, startRedisServer, testEventClock } from '@calltrack/test-utils';
import { createCallTracker } from '@calltrack/tracker';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEvent } from './__tests__/start-sse-server';
import { ids, until } from './__tests__/wait-for-state';
import { createCallTrackClient } from './create-call-track-client';
import { socketIoTransport } from './socket-io-transport';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let redisServer: RedisServerProcess | undefined;

describe.skipIf(!installed)('socketIoTransport while the server’s Redis is down (kill -9)', () => {
  beforeAll(async () => {
    redisServer = await startRedisServer();
  });
  afterAll(async () => {
    await redisServer?.stop();
  });

  it('shows reconnecting, retries `unavailable` after the retryAfterMs the server asks, and gets the snapshot once Redis is back', async () => {
    const server = redisServer as RedisServerProcess;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'react-outage' });
    // The tracker keeps its calls in memory: only the bus's Redis goes down here.
    const tracker = createCallTracker({ bus, clock: testEventClock() });
    const httpServer = createServer();
    const ioServer = new Server(httpServer);
    attachCallTrack(ioServer, {
      bus,
      tracker,
      authenticate: (handshake) => ({ tenantId: String(handshake.auth.token) }),
      attachTimeoutMs: 200,
      onError: () => {},
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const socket = io(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, {
      auth: { token: 'tenant-a' },
      transports: ['websocket'],
    });
    const asked: Array<number | undefined> = [];
    let retriedTwice!: () => void;
    const twice = new Promise<void>((resolve) => {
      retriedTwice = resolve;
    });
    const transport = socketIoTransport({
      socket,
      // The server's retryAfterMs is recorded; the test waits 50 ms instead.
      retryDelay: (_attempt, retryAfterMs) => {
        asked.push(retryAfterMs);
        if (asked.length === 2) retriedTwice();
        return 50;
      },
    });
    const client = createCallTrackClient({ transport });
    try {
      await tracker.ingest(callEvent('CA-1'));
      await server.kill();
      const disconnect = client.connect();
      await twice;
      const down = client.getSnapshot();
      expect(down.connection).toMatchObject({ isConnected: false, reconnecting: true });
      expect(down.hasSnapshot).toBe(false);
      expect(asked.slice(0, 2)).toEqual([5_000, 5_000]);
      expect(socket.connected).toBe(true);
      await server.restart();
      const up = await until(client, (state) => state.hasSnapshot && state.connection.isConnected);
      expect(up.connection).toEqual({ isConnected: true, reconnecting: false });
      expect(ids(up)).toEqual(['CA-1']);
      disconnect();
    } finally {
      socket.close();
      await ioServer.close();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);
});

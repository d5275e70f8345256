// What the scaling guide's "When Redis is down" table promises a Socket.IO connection that was
// already streaming when Redis went away: its own redis-server, killed with SIGKILL and
// restarted on the same port (the shared test Redis is never stopped).
import { spawnSync } from 'node:child_process';
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallEvent } from '@calltrack/core';
import {
  type PersistentRedisServer,
  type RedisServerProcess,
  startPersistentRedisServer,
  startRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createTestTracker } from './__tests__/create-test-tracker';
import { createEventLog } from './__tests__/event-log';
import { makeEvent } from './__tests__/make-event';
import { connected, startSocketServer } from './__tests__/start-socket-server';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}

/** Publishes `event`, again and again while the bus still refuses it (Redis coming back). */
async function publishOnceBack(
  bus: { publish(event: CallEvent): Promise<unknown> },
  event: CallEvent,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await bus.publish(event);
      return;
    } catch (error) {
      if (attempt >= 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * A streaming connection, Redis killed and restarted under it, then one event published: what
 * the connection received after the event it had before the outage.
 */
async function streamThroughRestart(redisServer: RedisServerProcess | PersistentRedisServer) {
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => {});
  await new Promise((resolve) => redis.once('ready', resolve));
  const bus = createRedisBus({ redis, prefix: 'restart' });
  const { reader } = createTestTracker(bus);
  const socketServer = await startSocketServer(bus, { tracker: reader, onError: () => {} });
  try {
    const client = socketServer.client({ token: 'token:t1:u1' });
    const log = createEventLog(client);
    await connected(client);
    expect(await client.timeout(5_000).emitWithAck('subscribe_to_calls')).toEqual({ ok: true });
    await log.waitFor('active_calls', 1);
    await bus.publish(makeEvent('t1', { id: 'before' }));
    await log.waitFor('call_update', 1);

    await redisServer.kill();
    await redisServer.restart();
    await publishOnceBack(bus, makeEvent('t1', { id: 'after' }));
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const ids = log
          .named('call_update')
          .map((entry) => (entry.payload as { event: CallEvent }).event.id);
        if (ids.includes('after')) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    expect(client.connected).toBe(true);
    const since = log.events.slice(
      log.events.findIndex(
        (entry) =>
          entry.name === 'call_update' &&
          (entry.payload as { event: CallEvent }).event.id === 'before',
      ) + 1,
    );
    client.disconnect();
    return since
      .filter((entry) => entry.name === 'call_update' || entry.name === 'reset')
      .map((entry) =>
        entry.name === 'reset'
          ? { reset: entry.payload }
          : { event: (entry.payload as { event: CallEvent }).event.id },
      );
  } finally {
    await socketServer.close();
    await bus.close();
    redis.disconnect();
  }
}

describe.skipIf(!installed)(
  'attachCallTrack: a streaming connection through a Redis restart (kill -9)',
  () => {
    it('goes on with the events published once Redis is back, no reset, when Redis kept its data', async () => {
      const server = await startPersistentRedisServer();
      try {
        expect(await streamThroughRestart(server)).toEqual([{ event: 'after' }]);
      } finally {
        await server.stop();
      }
    }, 30_000);

    it('gets one reset (stream-reset) and then the events of the new stream when Redis came back empty', async () => {
      const server = await startRedisServer();
      try {
        expect(await streamThroughRestart(server)).toEqual([
          { reset: { reason: 'stream-reset' } },
          { event: 'after' },
        ]);
      } finally {
        await server.stop();
      }
    }, 30_000);
  },
);

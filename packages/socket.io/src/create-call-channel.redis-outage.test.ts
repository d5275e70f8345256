// A tenant channel restarting while its Redis bus's server is down: its own redis-server, killed
// with SIGKILL and restarted on the same port (the shared test Redis is never stopped).
import { spawnSync } from 'node:child_process';
import type { BusEventMessage } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type RedisServerProcess, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent } from './__tests__/make-event';
import { BusSubscriptionLostError } from './bus-subscription-lost-error';
import { createCallChannel } from './create-call-channel';
import { createChannelOutage } from './create-channel-outage';
import { createChannelRegistry } from './create-channel-registry';

const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}

describe.skipIf(!installed)('a tenant channel while Redis is down (kill -9)', () => {
  let server: RedisServerProcess | undefined;
  afterEach(async () => {
    await server?.stop();
  });

  it('reports its restarts once per outage, without a stack, and once when it is back', async () => {
    server = await startRedisServer();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'channel-outage' });
    const closed = new Promise((resolve) => redis.once('close', resolve));
    await server.kill();
    await closed;

    const errors: unknown[] = [];
    const due: (() => void)[] = [];
    let now = 1_000_000;
    const onError = (error: unknown) => errors.push(error);
    const channel = createCallChannel({
      tenantId: 'a',
      bus,
      namespace: new Server().of('/'),
      onError,
      // The test's clock: a restart waits until the test lets it run.
      schedule: (_delayMs, run) => {
        due.push(run);
        return () => {};
      },
      outage: createChannelOutage(onError, { now: () => now }),
    });
    const seen: BusEventMessage[] = [];
    channel.listeners.add({ onLive: (message) => seen.push(message), onReset: () => {} });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    try {
      await settle();
      let restarts = 0;
      for (; restarts < 8; restarts += 1) {
        now += 5_000;
        for (const run of due.splice(0)) run();
        await settle();
      }
      // Eight restarts, each reading the position on a client that refuses at once.
      expect(errors).toHaveLength(1);
      const lost = errors[0] as BusSubscriptionLostError;
      expect(BusSubscriptionLostError.isInstance(lost)).toBe(true);
      expect(lost.message).toMatch(/Redis cannot be reached/);
      expect(lost.stack).not.toMatch(/\n\s+at /);

      const ready = new Promise((resolve) => redis.once('ready', resolve));
      await server.restart();
      await ready;
      let attached = false;
      void channel.ready.then(() => {
        attached = true;
      });
      while (!attached) {
        for (const run of due.splice(0)) run();
        await settle();
      }
      expect(errors).toHaveLength(2);
      expect((errors[1] as Error).message).toMatch(
        /^The bus subscriptions of the Socket.IO channels are back after 40\.0 s and \d+ failed restarts \(only the first was reported\)\.$/,
      );
      await bus.publish(makeEvent('a', { id: 'after' }));
      while (seen.length === 0) await settle();
      expect(seen.map((message) => message.event.id)).toEqual(['after']);
    } finally {
      channel.close();
      await bus.close();
      redis.disconnect();
    }
  });

  it('reports one outage for every channel of a registry, also channels that close while it lasts', async () => {
    server = await startRedisServer();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const bus = createRedisBus({ redis, prefix: 'registry-outage' });
    const closed = new Promise((resolve) => redis.once('close', resolve));
    await server.kill();
    await closed;

    const errors: unknown[] = [];
    const due: (() => void)[] = [];
    let now = 1_000_000;
    const channels = createChannelRegistry({
      bus,
      namespace: new Server().of('/'),
      onError: (error) => errors.push(error),
      schedule: (_delayMs, run) => {
        due.push(run);
        return () => {};
      },
      clock: { now: () => now },
    });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    const restart = async () => {
      now += 5_000;
      for (const run of due.splice(0)) run();
      await settle();
    };
    try {
      // Tenant a's connections come and go: three channels one after another, each restarting
      // three times, then closed with its last connection.
      for (let channel = 0; channel < 3; channel += 1) {
        const a = channels.acquire('a');
        await settle();
        for (let restarts = 0; restarts < 3; restarts += 1) await restart();
        channels.release(a);
      }
      // Three more tenants' channels fail too.
      const others = ['b', 'c', 'd'].map((tenantId) => channels.acquire(tenantId));
      await settle();
      await restart();
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).message).toMatch(/Redis cannot be reached/);

      const ready = new Promise((resolve) => redis.once('ready', resolve));
      await server.restart();
      await ready;
      let attached = 0;
      for (const channel of others) {
        void channel.ready.then(() => {
          attached += 1;
        });
      }
      while (attached < others.length) await restart();
      const a = channels.acquire('a');
      await a.ready;
      expect(errors).toHaveLength(2);
      expect((errors[1] as Error).message).toMatch(
        /^The bus subscriptions of the Socket.IO channels are back after [\d.]+ s and \d+ failed restarts \(only the first was reported\)\.$/,
      );
    } finally {
      channels.closeAll();
      await bus.close();
      redis.disconnect();
    }
  });
});

import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createRedisBus } from '@calltrack/bus/redis';
import {
  makeCallEvent,
  openEventSource,
  type RedisServerProcess,
  serveForTest,
  startRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from './__tests__/describe-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

// Its own redis-server, killed with SIGKILL and restarted empty on the same port: the shared
// test Redis is never stopped. Started by the suite (not at import, so a filtered run leaves
// nothing behind); skipped only where redis-server is not installed and Redis is not required.
const installed = spawnSync('redis-server', ['--version']).status === 0;
if (!installed && process.env.CALLTRACK_REQUIRE_REDIS === '1') {
  throw new Error('CALLTRACK_REQUIRE_REDIS=1 but redis-server is not installed');
}
let server: RedisServerProcess | undefined;

describe.skipIf(!installed)('SSE across a Redis restart (kill -9)', () => {
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

  it('keeps its clients: they are told to reload, then get the events published after it', async () => {
    const redisServer = server as RedisServerProcess;
    const subscriberClient = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const publisherClient = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    subscriberClient.on('error', () => {});
    publisherClient.on('error', () => {});
    const subscriberBus = createRedisBus({ redis: subscriberClient, prefix: 'restart' });
    const publisherBus = createRedisBus({ redis: publisherClient, prefix: 'restart' });
    cleanups.push(
      () => subscriberClient.disconnect(),
      () => publisherClient.disconnect(),
      () => subscriberBus.close(),
      () => publisherBus.close(),
    );
    let opened = 0;
    const http = await serveForTest(
      createServer(
        createSseNodeHandler({
          bus: subscriberBus,
          authenticate: bearer,
          retryMs: 10,
          onOpen: () => {
            opened += 1;
          },
        }),
      ),
    );
    const clients = [
      openEventSource(`${http.url}/events`, 'tenant-a:u1'),
      openEventSource(`${http.url}/events`, 'tenant-a:u2'),
    ];
    await Promise.all(
      clients.map(
        ({ source }) =>
          new Promise((resolve) => source.addEventListener('open', resolve, { once: true })),
      ),
    );
    const before = makeCallEvent();
    await publisherBus.publish(before);
    for (const client of clients) await client.until((events) => events.length === 1);

    await redisServer.kill();
    await redisServer.restart();
    // The bus tells the shared subscription its cursor belongs to a lost stream; every client
    // of it hears so, on the connection it already has.
    for (const client of clients) {
      await client.until((events) => events.some((event) => event.type === 'reset'));
    }
    const after = makeCallEvent();
    await publisherBus.publish(after);
    for (const client of clients) {
      await client.until((events) => events.some((event) => event.data.id === after.id));
      expect(
        client.received.filter((event) => event.type === 'call').map((e) => e.data.id),
      ).toEqual([before.id, after.id]);
      client.close();
    }
    expect(opened).toBe(2);
  }, 30_000);

  it('answers a stream opened while Redis is down 503 within attachTimeoutMs; a later one streams', async () => {
    const redisServer = server as RedisServerProcess;
    // The options the scaling guide recommends: commands fail at once while disconnected.
    const client = new Redis(redisServer.url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
    });
    client.on('error', () => {});
    await new Promise((resolve) => client.once('ready', resolve));
    const bus = createRedisBus({ redis: client, prefix: 'outage' });
    cleanups.push(
      () => client.disconnect(),
      () => bus.close(),
    );
    const failures: unknown[] = [];
    const attachTimeoutMs = 500;
    const http = await serveForTest(
      createServer(
        createSseNodeHandler({
          bus,
          authenticate: bearer,
          attachTimeoutMs,
          onError: (error) => failures.push(error),
        }),
      ),
    );
    await redisServer.kill();
    const started = performance.now();
    const refused = await fetch(`${http.url}/events`, {
      headers: { authorization: 'Bearer tenant-a:u1' },
    });
    expect(refused.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(attachTimeoutMs + 1000);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(await refused.json()).toEqual({
      error: { code: 'bus_unavailable', message: expect.stringContaining('attach') },
    });
    expect(failures).toHaveLength(1);

    await redisServer.restart();
    await new Promise((resolve) => client.once('ready', resolve));
    const later = openEventSource(`${http.url}/events`, 'tenant-a:u1');
    cleanups.push(() => later.close());
    await new Promise((resolve) => later.source.addEventListener('open', resolve, { once: true }));
    const event = makeCallEvent();
    await bus.publish(event);
    await later.until((events) => events.some((received) => received.data?.id === event.id));
  }, 30_000);
});

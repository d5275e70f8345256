// The management API on the Redis store while that Redis is down: its own redis-server, killed
// with SIGKILL and restarted on the same port (the shared test Redis is never stopped).
import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import {
  type OwnRedisServer,
  serveForTest,
  startOwnRedisServer,
  stopOwnRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisWebhookStore } from './create-redis-webhook-store';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { createWebhookHandler } from './create-webhook-handler';

let own: OwnRedisServer = {};
afterAll(async () => {
  await stopTestServers();
  await stopOwnRedisServer(own);
});

describe('the webhooks management API while Redis is down', () => {
  it('answers 503 redis_unavailable with Retry-After at once, and 200 once Redis is back', async () => {
    own = await startOwnRedisServer();
    const { server } = own;
    if (!server) return;
    // The options the scaling guide recommends for the app's command client.
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    await new Promise((resolve) => redis.once('ready', resolve));
    const dispatcher = createWebhookDispatcher({
      bus: createMemoryBus(),
      store: createRedisWebhookStore({ redis, prefix: 'outage:webhooks' }),
    });
    const failures: unknown[] = [];
    const http = await serveForTest(
      createServer(
        toNodeHandler(
          createWebhookHandler({
            dispatcher,
            authenticate: () => ({ tenantId: 'acme' }),
            onError: (error) => failures.push(error),
          }),
        ),
      ),
    );
    try {
      expect((await fetch(`${http.url}/webhooks`)).status).toBe(200);
      await server.kill();
      const started = performance.now();
      const refused = await fetch(`${http.url}/webhooks`);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
      expect(await refused.json()).toEqual({
        error: {
          code: 'redis_unavailable',
          message: expect.stringMatching(/^Redis cannot be reached/),
        },
      });
      expect(failures).toHaveLength(1);
      await server.restart();
      await new Promise((resolve) => redis.once('ready', resolve));
      expect((await fetch(`${http.url}/webhooks`)).status).toBe(200);
    } finally {
      await dispatcher.close();
      redis.disconnect();
    }
  }, 30_000);
});

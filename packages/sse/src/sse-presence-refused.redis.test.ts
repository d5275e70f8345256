// The scaling guide's "When Redis is down" table, SSE row: a stream is answered
// `redis_unavailable` at once when presence's Redis refuses the registration (and 503 with
// `Retry-After`, never a stack). Presence on a Redis store of this file's own redis-server:
// killed (SIGKILL), and full (out of memory under `noeviction`); the bus is a memory bus.
import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import { createPresence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import {
  type RedisServerProcess,
  serveForTest,
  startOwnRedisServer,
  stopOwnRedisServer,
  stopTestServers,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bearer, openRaw } from './__tests__/describe-sse-handler';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));
afterEach(() => stopTestServers());

describe.each([
  ['createSseNodeHandler', createSseNodeHandler],
  [
    'createSseHandler',
    (options: Parameters<typeof createSseHandler>[0]) => toNodeHandler(createSseHandler(options)),
  ],
] as const)(
  '%s({ presence }) when presence’s Redis refuses the registration',
  (name, makeListener) => {
    const start = async (prefix: string) => {
      const redisServer = server as RedisServerProcess;
      // The options the scaling guide recommends for the app's clients.
      const redis = new Redis(redisServer.url, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
      });
      redis.on('error', () => {});
      await new Promise((resolve) => redis.once('ready', resolve));
      const bus = createMemoryBus();
      const presence = createPresence({
        bus,
        store: createRedisPresenceStore({ redis, prefix }),
        autoHeartbeat: false,
      });
      const reported: Error[] = [];
      const http = await serveForTest(
        createServer(
          makeListener({
            bus,
            presence,
            authenticate: bearer,
            onError: (error) => reported.push(error),
          }),
        ),
      );
      const stop = async () => {
        await presence.stop();
        await bus.close();
        redis.disconnect();
      };
      return { http, reported, redis, stop };
    };

    const expectRefused = async (url: string, reply: RegExp) => {
      const started = performance.now();
      const response = await fetch(url, { headers: { authorization: 'Bearer tenant-a:u1' } });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toEqual({
        error: { code: 'redis_unavailable', message: expect.stringMatching(reply) },
      });
    };

    it('answers 503 redis_unavailable at once while that Redis is down, and streams once it is back', async () => {
      if (!server || !admin) return;
      const { http, reported, redis, stop } = await start(`sse-presence-down-${name}`);
      try {
        await server.kill();
        try {
          await expectRefused(`${http.url}/events`, /^Redis cannot be reached/);
          expect(reported).toHaveLength(1);
        } finally {
          const ready = new Promise((resolve) => redis.once('ready', resolve));
          await server.restart();
          await ready;
        }
        const stream = await openRaw(`${http.url}/events`, 'tenant-a:u1');
        expect(stream.response.status).toBe(200);
        await stream.close();
      } finally {
        await stop();
      }
    }, 20_000);

    it('answers 503 redis_unavailable at once while that Redis refuses writes (OOM)', async () => {
      if (!server || !admin) return;
      const { http, stop } = await start(`sse-presence-oom-${name}`);
      try {
        await admin.config('SET', 'maxmemory-policy', 'noeviction');
        await admin.config('SET', 'maxmemory', '1');
        await expectRefused(`${http.url}/events`, /^Redis cannot take commands right now \(OOM /);
      } finally {
        await admin.config('SET', 'maxmemory', '0');
        await stop();
      }
    });
  },
);

// Presence heartbeats on the keepalive ticker while presence's Redis refuses writes (out of
// memory under `noeviction`): every stream's heartbeat is refused at each tick, and an outage must
// reach `onError` as one incident, not once per stream per tick, and its end is said once. On a
// redis-server of this file's own.
import { createServer } from 'node:http';
import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence } from '@calltrack/core';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, openRaw } from './__tests__/describe-sse-handler';
import { createSseHandler } from './create-sse-handler';
import { createSseNodeHandler } from './create-sse-node-handler';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe.each([
  ['createSseNodeHandler', createSseNodeHandler],
  [
    'createSseHandler',
    (options: Parameters<typeof createSseHandler>[0]) => toNodeHandler(createSseHandler(options)),
  ],
] as const)('%s({ presence }) while Redis refuses writes', (name, makeListener) => {
  it('reports refused heartbeats once, and once more when they work again', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const bus = createMemoryBus();
    const presence = createPresence({
      bus,
      store: createRedisPresenceStore({ redis, prefix: `sse-heartbeat-outage-${name}:presence` }),
      autoHeartbeat: false,
    });
    // Counts the heartbeats' outcomes, and lets the test wait for the next ones.
    const outcomes = { worked: 0, failed: 0 };
    let onOutcome: () => void = () => {};
    const next = (check: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        onOutcome = () => {
          if (!check()) return;
          onOutcome = () => {};
          // The outcome reaches the stream's own handler after this one.
          setImmediate(resolve);
        };
      });
    const counting: ConnectionPresence = {
      listMembers: (tenantId) => presence.listMembers(tenantId),
      async connect(principal, options) {
        const connection = await presence.connect(principal, options);
        return {
          heartbeat: async () => {
            try {
              await connection.heartbeat();
              outcomes.worked += 1;
            } catch (error) {
              outcomes.failed += 1;
              throw error;
            } finally {
              onOutcome();
            }
          },
          disconnect: () => connection.disconnect(),
        };
      },
    };
    const reported: Error[] = [];
    const http = await serveForTest(
      createServer(
        makeListener({
          bus,
          presence: counting,
          authenticate: bearer,
          keepAliveMs: 10,
          onError: (error) => reported.push(error),
        }),
      ),
    );
    const streams = [
      await openRaw(`${http.url}/events`, 'tenant-a:u1'),
      await openRaw(`${http.url}/events`, 'tenant-b:u2'),
    ];
    try {
      await next(() => outcomes.worked >= 2);
      expect(reported).toEqual([]);

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await next(() => outcomes.failed >= 10);
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      await admin.config('SET', 'maxmemory', '0');
      // Once both streams heartbeat again, the incident is over.
      while (reported.length < 2) await next(() => true);
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        expect.stringMatching(
          /^Presence heartbeats of the SSE streams work again after \d+\.\d s and \d+ failed heartbeats \(only the first was reported\)\.$/,
        ),
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      for (const stream of streams) await stream.close();
      await stopTestServers();
      await presence.stop();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);
});

// Presence heartbeats on Engine.IO pongs while presence's Redis refuses writes (out of memory
// under `noeviction`): every pong's heartbeat is refused, and an outage must reach `onError` as
// one incident, not once per heartbeat. On a redis-server of this file's own.
import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { type RedisServerProcess, redisRequired, startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, startSocketServer } from './__tests__/start-socket-server';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  try {
    server = await startRedisServer();
  } catch (error) {
    if (redisRequired) throw error;
    return; // no redis-server on this machine
  }
  admin = new Redis(server.url);
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

describe('attachCallTrack({ presence }) while Redis refuses writes', () => {
  it('reports refused heartbeats once, and once more when they work again', async () => {
    if (!server || !admin) return;
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    const bus = createMemoryBus();
    const presence = createPresence({
      bus,
      store: createRedisPresenceStore({ redis, prefix: 'heartbeat-outage:presence' }),
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
          // The outcome reaches attachCallTrack's own handler after this one.
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
    const socketServer = await startSocketServer(
      bus,
      { presence: counting, onError: (error) => reported.push(error) },
      { pingInterval: 20, pingTimeout: 5000 },
    );
    try {
      const clients = [
        socketServer.client({ token: 'token:a:u1' }),
        socketServer.client({ token: 'token:b:u2' }),
      ];
      for (const client of clients) await connected(client);
      await next(() => outcomes.worked >= 2);
      expect(reported).toEqual([]);

      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      await next(() => outcomes.failed >= 10);
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      await admin.config('SET', 'maxmemory', '0');
      // Once both connections heartbeat again, the incident is over.
      while (reported.length < 2) await next(() => true);
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        expect.stringMatching(
          /^Presence heartbeats of the Socket\.IO connections work again after [\d.]+ s and \d+ failed heartbeats \(only the first was reported\)\.$/,
        ),
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await socketServer.close();
      await presence.stop();
      await bus.close();
      redis.disconnect();
    }
  }, 30_000);
});

// Presence heartbeats on Engine.IO pongs while presence's Redis refuses writes (out of memory
// under `noeviction`): every pong's heartbeat is refused, and an outage must reach `onError` as
// one incident, not once per heartbeat, and its end says how long it lasted on attachCallTrack's
// clock. On a redis-server of this file's own.
import type { ConnectionPresence } from '@calltrack/core';
import {
  type RedisServerProcess,
  startHeartbeatOutage,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connected, startSocketServer } from './__tests__/start-socket-server';

let server: RedisServerProcess | undefined;
let admin: Redis | undefined;
beforeAll(async () => {
  ({ server, admin } = await startOwnRedisServer());
});
afterAll(() => stopOwnRedisServer({ server, admin }));

describe('attachCallTrack({ presence }) while Redis refuses writes', () => {
  it('reports refused heartbeats once, and once more when they work again', async () => {
    if (!server || !admin) return;
    const { bus, presence, outcomes, next, refuseWrites, acceptWrites, stop } =
      startHeartbeatOutage(server, admin, 'heartbeat-outage:presence');
    const reported: Error[] = [];
    // The test's clock: the outage lasts as long as the test says.
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const socketServer = await startSocketServer(
      bus,
      { presence, onError: (error) => reported.push(error), clock: { now: () => now } },
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

      await refuseWrites();
      await next(() => outcomes.failed >= 10);
      expect(reported.map((error) => error.message)).toEqual([
        expect.stringMatching(/^Redis cannot take commands right now \(OOM /),
      ]);

      now += 42_500;
      await acceptWrites();
      // Once both connections heartbeat again, the incident is over.
      while (reported.length < 2) await next(() => true);
      expect(reported.slice(1).map((error) => error.message)).toEqual([
        expect.stringMatching(
          /^Presence heartbeats of the Socket\.IO connections work again after 42\.5 s and \d+ failed heartbeats \(only the first was reported\)\.$/,
        ),
      ]);
    } finally {
      // Writes first: the transport's presence registrations leave as it closes.
      await acceptWrites();
      await socketServer.close();
      await stop();
    }
  }, 30_000);

  it('lets a connection that left while its heartbeat waited on Redis hold no incident open', async () => {
    if (!server || !admin) return;
    const {
      bus,
      engine: presence,
      acceptWrites,
      stop,
    } = startHeartbeatOutage(server, admin, 'heartbeat-outage-left:presence');
    // Each tenant's heartbeats (one connection each): how many worked, failed, are in flight;
    // and which tenants' registrations attachCallTrack let go.
    const outcomes = new Map<string, { worked: number; failed: number; waiting: number }>();
    const of = (tenantId: string) => {
      let counts = outcomes.get(tenantId);
      if (!counts) {
        counts = { worked: 0, failed: 0, waiting: 0 };
        outcomes.set(tenantId, counts);
      }
      return counts;
    };
    const disconnected = new Set<string>();
    let onChange: () => void = () => {};
    const next = (check: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        onChange = () => {
          if (!check()) return;
          onChange = () => {};
          // The outcome reaches attachCallTrack's own handler after this one.
          setImmediate(resolve);
        };
        onChange();
      });
    const counting: ConnectionPresence = {
      listMembers: (tenantId) => presence.listMembers(tenantId),
      async connect(principal, options) {
        const connection = await presence.connect(principal, options);
        const counts = of(principal.tenantId);
        return {
          heartbeat: async () => {
            counts.waiting += 1;
            onChange();
            try {
              await connection.heartbeat();
              counts.worked += 1;
            } catch (error) {
              counts.failed += 1;
              throw error;
            } finally {
              counts.waiting -= 1;
              onChange();
            }
          },
          disconnect: () => {
            disconnected.add(principal.tenantId);
            onChange();
            return connection.disconnect();
          },
        };
      },
    };
    const reported: string[] = [];
    const socketServer = await startSocketServer(
      bus,
      { presence: counting, onError: (error) => reported.push((error as Error).message) },
      { pingInterval: 20, pingTimeout: 5000 },
    );
    const outage = expect.stringMatching(/^Redis cannot take commands right now \(OOM /);
    const back = expect.stringMatching(
      /^Presence heartbeats of the Socket\.IO connections work again after [\d.]+ s and \d+ failed heartbeats \(only the first was reported\)\.$/,
    );
    try {
      const a = socketServer.client({ token: 'token:a:u1' });
      const b = socketServer.client({ token: 'token:b:u2' });
      await connected(a);
      await connected(b);
      await next(() => of('a').worked >= 1 && of('b').worked >= 1);

      // B's next heartbeat waits on Redis while B leaves, and is refused after.
      await admin.client('PAUSE', '5000', 'WRITE');
      await next(() => of('b').waiting > 0);
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      b.disconnect();
      await next(() => disconnected.has('b'));
      const bFailed = of('b').failed;
      await admin.client('UNPAUSE');
      await next(() => of('b').waiting === 0 && of('b').failed > bFailed);
      expect(reported.filter((message) => !outage.asymmetricMatch(message))).toEqual([]);
      expect(reported.length).toBeGreaterThan(0);

      // A's heartbeats work again: the incident is over, B holds nothing open.
      await admin.config('SET', 'maxmemory', '0');
      const aWorked = of('a').worked;
      await next(() => of('a').worked > aWorked);
      expect(reported.filter((message) => back.asymmetricMatch(message))).toHaveLength(1);

      // And the next outage is reported.
      const reportedBefore = reported.length;
      await admin.config('SET', 'maxmemory', '1');
      const aFailed = of('a').failed;
      await next(() => of('a').failed > aFailed);
      expect(reported.slice(reportedBefore)).toEqual([outage]);
    } finally {
      await admin.client('UNPAUSE');
      await acceptWrites();
      await socketServer.close();
      await stop();
    }
  }, 30_000);
});

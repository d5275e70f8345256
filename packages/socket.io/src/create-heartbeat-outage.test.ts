import { createMemoryBus } from '@calltrack/bus';
import { RedisUnavailableError } from '@calltrack/core';
import { createPresence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { endableRedisClients } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { createHeartbeatOutage } from './create-heartbeat-outage';

const clients = endableRedisClients();

const down = () => new RedisUnavailableError({ message: 'Redis cannot be reached.' });

describe('createHeartbeatOutage', () => {
  it('is not over while a connection still fails, and reports bugs every time', () => {
    const reported: string[] = [];
    let now = 0;
    const outage = createHeartbeatOutage((error) => reported.push((error as Error).message), {
      now: () => now,
    });
    const working = {};
    const failing = {};
    outage.failed(failing, down(), {});
    for (let pong = 0; pong < 3; pong += 1) {
      now += 1_000;
      outage.worked(working);
      outage.failed(failing, down(), {});
    }
    outage.failed(working, new TypeError('a bug'), {});
    expect(reported).toEqual(['Redis cannot be reached.', 'a bug']);
    outage.worked(failing);
    expect(reported.slice(2)).toEqual([
      'Presence heartbeats of the Socket.IO connections work again after 3.0 s and 4 failed heartbeats (only the first was reported).',
    ]);
  });

  it('stops waiting for a connection that left while failing', () => {
    const reported: string[] = [];
    const outage = createHeartbeatOutage((error) => reported.push((error as Error).message));
    const leaving = {};
    outage.failed(leaving, down(), {});
    outage.failed({}, down(), {});
    outage.left(leaving);
    expect(reported).toHaveLength(1);
    outage.worked({});
    // The other failing connection still holds it open.
    expect(reported).toHaveLength(1);
  });

  it('lets a heartbeat that fails after its connection left hold nothing open', () => {
    const reported: string[] = [];
    const outage = createHeartbeatOutage((error) => reported.push((error as Error).message));
    const leaving = {};
    outage.left(leaving);
    outage.failed(leaving, down(), {});
    expect(reported).toEqual(['Redis cannot be reached.']);
    outage.worked({});
    expect(reported.slice(1)).toEqual([
      expect.stringMatching(/ work again after .* and 1 failed heartbeats/),
    ]);
  });
});

describe('createHeartbeatOutage on a presence whose Redis client has ended', () => {
  it('reports the ended client once, however many heartbeats fail, and no outage over when one works', async () => {
    const redis = clients.connect();
    if (!redis) return;
    const presence = createPresence({
      bus: createMemoryBus(),
      store: createRedisPresenceStore({ redis, prefix: 'heartbeat-ended:presence' }),
      autoHeartbeat: false,
      logger: {},
    });
    const reported: unknown[] = [];
    const outage = createHeartbeatOutage((error) => reported.push(error));
    try {
      const connections = [
        await presence.connect({ tenantId: 'tenant-a', userId: 'u1' }),
        await presence.connect({ tenantId: 'tenant-b', userId: 'u2' }),
      ];
      await clients.end(redis);
      for (let pong = 0; pong < 5; pong += 1) {
        for (const connection of connections) {
          await connection
            .heartbeat()
            .catch((error: unknown) => outage.failed(connection, error, {}));
        }
      }
      expect(reported).toHaveLength(1);
      expect(reported[0]).toMatchObject({ code: 'redis_client_closed', status: 500 });
      // An ended client opens no outage, so nothing is over when a heartbeat works again.
      outage.worked(connections[0]!);
      expect(reported).toHaveLength(1);
    } finally {
      await presence.stop();
    }
  });
});

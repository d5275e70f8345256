// Presence's background deliveries of queued messages while the bus's Redis refuses writes (out
// of memory under `noeviction`): every user who connects has their queue delivered in the
// background, each delivery's publish is refused, and the outage is one incident in the log, not
// a line per refused delivery. On a redis-server of this file's own.
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type EventSink, RedisUnavailableError } from '@calltrack/core';
import {
  type OwnRedisServer,
  refuseRedisWrites,
  startOwnRedisServer,
  stopOwnRedisServer,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryPresenceStore } from './create-memory-presence-store';
import { createPresence } from './create-presence';
import { conformanceTimings } from './describe-presence-store';

let own: OwnRedisServer = {};
beforeAll(async () => {
  own = await startOwnRedisServer();
});
afterAll(() => stopOwnRedisServer(own));

describe('presence’s background deliveries during an outage', () => {
  it('logs the first refused delivery once, and one line when deliveries work again', async () => {
    const { server, admin } = own;
    if (!server || !admin) return;
    const busRedis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    busRedis.on('error', () => {});
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const logged: { level: string; message: string }[] = [];
    // Counts the refused publishes of queued messages, so the test waits for them, not for time.
    const redisBus = createRedisBus({ redis: busRedis, prefix: 'delivery-outage:bus' });
    let refusedMessages = 0;
    let messageRefused = () => {};
    const bus: EventSink = {
      publish: (event) =>
        redisBus.publish(event).catch((error: unknown) => {
          if (event.type === 'user.message') {
            refusedMessages += 1;
            messageRefused();
          }
          throw error;
        }),
    };
    const refused = async (count: number): Promise<void> => {
      while (refusedMessages < count) {
        await new Promise<void>((resolve) => {
          messageRefused = resolve;
        });
      }
      await new Promise((resolve) => setImmediate(resolve));
    };
    const presence = createPresence({
      bus,
      store: createMemoryPresenceStore(),
      clock: { now: () => now },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {
        error: (message) => logged.push({ level: 'error', message }),
        warn: (message) => logged.push({ level: 'warn', message }),
      },
    });
    const users = ['u1', 'u2', 'u3'];
    const deliveryLines = () => logged.filter(({ message }) => /[Dd]eliver/.test(message));
    try {
      for (const userId of users) {
        expect((await presence.send('tenant-a', userId, { note: userId })).queued).toBe(true);
      }
      await refuseRedisWrites(admin);
      // Each connect delivers the user's queue in the background: each publish is refused.
      for (const userId of users) await presence.connect({ tenantId: 'tenant-a', userId });
      await refused(users.length);
      expect(deliveryLines()).toEqual([
        {
          level: 'error',
          message:
            'Deliveries fail: Redis cannot be reached; reported once, until one works again.',
        },
      ]);

      await admin.config('SET', 'maxmemory', '0');
      await admin.flushall();
      // Once the claims run out, a sweep delivers the messages again.
      now += conformanceTimings.publishLeaseMs + 1;
      expect((await presence.sweep()).delivered).toBe(users.length);
      expect(deliveryLines().slice(1)).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(
            /^Deliveries work again after [\d.]+ s and 3 failures \(only the first was reported\)\.$/,
          ),
        },
      ]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
      await presence.stop();
      busRedis.disconnect();
    }
  }, 30_000);

  it('does not say deliveries work again while one tenant’s still fail (a Cluster master down)', async () => {
    // The bus's tenants in `down` cannot be reached (their keys live on the master that is
    // down); the others' work.
    const down = new Set(['t-down']);
    const memoryBus = createMemoryBus();
    let refusedMessages = 0;
    let deliveredMessages = 0;
    const bus: EventSink = {
      async publish(event) {
        if (event.type === 'user.message' && down.has(event.tenantId)) {
          refusedMessages += 1;
          throw new RedisUnavailableError({ message: 'Connection is closed.' });
        }
        const published = await memoryBus.publish(event);
        if (event.type === 'user.message') deliveredMessages += 1;
        return published;
      },
    };
    /** Lets background work run until `done` (a few turns of the event loop, no time). */
    const until = async (done: () => boolean): Promise<void> => {
      for (let turn = 0; turn < 1000 && !done(); turn += 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      await new Promise((resolve) => setImmediate(resolve));
    };
    let now = Date.parse('2026-11-21T10:00:00.000Z');
    const logged: { level: string; message: string }[] = [];
    const presence = createPresence({
      bus,
      store: createMemoryPresenceStore(),
      clock: { now: () => now },
      ...conformanceTimings,
      autoHeartbeat: false,
      logger: {
        error: (message) => logged.push({ level: 'error', message }),
        warn: (message) => logged.push({ level: 'warn', message }),
      },
    });
    try {
      const connections = [];
      for (const tenantId of ['t-down', 't-up']) {
        await presence.send(tenantId, 'u1', { note: 'queued' });
        connections.push(await presence.connect({ tenantId, userId: 'u1' }));
      }
      await until(() => refusedMessages === 1 && deliveredMessages === 1);
      expect(refusedMessages).toBe(1);
      expect(logged).toEqual([
        {
          level: 'error',
          message:
            'Deliveries fail: Redis cannot be reached; reported once, until one works again.',
        },
      ]);
      // t-up delivers again (a new message), t-down's is retried by a sweep and fails again.
      await presence.send('t-up', 'u1', { note: 'live' });
      await until(() => deliveredMessages === 2);
      now += conformanceTimings.publishLeaseMs + 1;
      await presence.sweep();
      expect(refusedMessages).toBe(2);
      expect(logged).toHaveLength(1);

      // The master is back: the next sweep delivers t-down's message, which ends the outage.
      down.clear();
      for (const connection of connections) await connection.heartbeat();
      now += conformanceTimings.publishLeaseMs + 1;
      expect((await presence.sweep()).delivered).toBe(1);
      expect(logged.slice(1)).toEqual([
        {
          level: 'warn',
          message: expect.stringMatching(
            /^Deliveries work again after [\d.]+ s and 2 failures \(only the first was reported\)\.$/,
          ),
        },
      ]);
    } finally {
      await presence.stop();
    }
  });
});

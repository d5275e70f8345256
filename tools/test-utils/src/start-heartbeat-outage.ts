import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { ConnectionPresence } from '@calltrack/core';
import { createPresence, type Presence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { Redis } from 'ioredis';
import type { RedisServerProcess } from './start-redis-server';

/** What {@link startHeartbeatOutage} sets up for a transport's heartbeat-outage test. */
export interface HeartbeatOutage {
  /** A memory bus, for the transport and presence. */
  bus: EventBus;
  /** Presence on a Redis store of the test's own redis-server, its own heartbeat timer off. */
  engine: Presence;
  /** `engine`, counting its registrations' heartbeats in {@link outcomes}: give it to the transport. */
  presence: ConnectionPresence;
  /** Heartbeats of the registrations that worked and that failed so far. */
  readonly outcomes: { worked: number; failed: number };
  /**
   * Resolves at the first heartbeat outcome after which `check` holds, once the transport has
   * handled that outcome too (its own handler runs after the counting one).
   */
  next(check: () => boolean): Promise<void>;
  /** Makes Redis refuse every write (out of memory under `noeviction`): heartbeats fail. */
  refuseWrites(): Promise<void>;
  /** Lets Redis take writes again. */
  acceptWrites(): Promise<void>;
  /** Takes writes again, stops presence, closes the bus and the Redis client. */
  stop(): Promise<void>;
}

/**
 * The shared setup of the transports' heartbeat-outage tests (SSE, Socket.IO, tRPC): a memory
 * bus and presence on a Redis store (under `prefix`) of a redis-server the test file started
 * itself (`startOwnRedisServer`), whose writes `refuseWrites()` turns off with `CONFIG SET` on
 * `admin`; the presence the transport gets counts each heartbeat's outcome.
 */
export function startHeartbeatOutage(
  server: RedisServerProcess,
  admin: Redis,
  prefix: string,
): HeartbeatOutage {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const bus = createMemoryBus();
  const engine = createPresence({
    bus,
    store: createRedisPresenceStore({ redis, prefix }),
    autoHeartbeat: false,
  });
  const outcomes = { worked: 0, failed: 0 };
  let onOutcome: () => void = () => {};
  const next = (check: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      onOutcome = () => {
        if (!check()) return;
        onOutcome = () => {};
        // The outcome reaches the transport's own handler after this one.
        setImmediate(resolve);
      };
    });
  const presence: ConnectionPresence = {
    listMembers: (tenantId) => engine.listMembers(tenantId),
    async connect(principal, options) {
      const connection = await engine.connect(principal, options);
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
  const acceptWrites = async (): Promise<void> => {
    await admin.config('SET', 'maxmemory', '0');
  };
  return {
    bus,
    engine,
    presence,
    outcomes,
    next,
    async refuseWrites() {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
    },
    acceptWrites,
    async stop() {
      await acceptWrites();
      await engine.stop();
      await bus.close();
      redis.disconnect();
    },
  };
}

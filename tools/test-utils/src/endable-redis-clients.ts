import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { endRedisClient } from './end-redis-client';
import {
  type OwnRedisServer,
  startOwnRedisServer,
  stopOwnRedisServer,
} from './start-own-redis-server';

/** Clients a test ends itself, on the file's own redis-server; see {@link endableRedisClients}. */
export interface EndableRedisClients {
  /**
   * A client made with `retryStrategy: () => null`, so that {@link EndableRedisClients.end} ends
   * it for good; undefined where no redis-server could start (the test then skips: return).
   */
  connect(): Redis | undefined;
  /** Ends `redis` as a `retryStrategy` that gives up does (test-utils' `endRedisClient`). */
  end(redis: Redis): Promise<void>;
}

/**
 * For a test file about a Redis client that has ended (status `end`: the app called quit(), or
 * its `retryStrategy` gave up): starts a redis-server of the file's own before its tests and
 * stops it after them (call it at the top level of the file), and makes the clients to end on
 * it. Killing a client's connection would disturb the other files' clients on the shared server.
 */
export function endableRedisClients(): EndableRedisClients {
  let own: OwnRedisServer = {};
  beforeAll(async () => {
    own = await startOwnRedisServer();
  });
  afterAll(() => stopOwnRedisServer(own));
  return {
    connect() {
      return own.server && new Redis(own.server.url, { retryStrategy: () => null });
    },
    async end(redis) {
      if (!own.admin) throw new Error('endableRedisClients: the own redis-server did not start.');
      await endRedisClient(redis, own.admin);
    },
  };
}

import { Redis } from 'ioredis';
import { redisRequired } from './connect-test-redis';
import { type RedisServerProcess, startRedisServer } from './start-redis-server';

/** A test file's own redis-server and a client on it: empty where none can start. */
export interface OwnRedisServer {
  server?: RedisServerProcess;
  /** For the test's own commands on the server (`CONFIG SET`, `FLUSHALL`…). */
  admin?: Redis;
}

/**
 * Starts a redis-server of the test file's own (a test that changes its configuration or stops
 * it must not touch the shared one), with a client on it. Where none can start, answers `{}` so
 * the file's tests skip, unless `CALLTRACK_REQUIRE_REDIS=1` says Redis is required (CI): then
 * the failure is thrown.
 */
export async function startOwnRedisServer(): Promise<OwnRedisServer> {
  let server: RedisServerProcess;
  try {
    server = await startRedisServer();
  } catch (error) {
    if (redisRequired) throw error;
    return {}; // no redis-server on this machine
  }
  const admin = new Redis(server.url);
  // A test may kill or restart its server: the client reconnects without printing "Unhandled
  // error event" meanwhile (a command sent while it is down still fails).
  admin.on('error', () => {});
  return { server, admin };
}

/** Disconnects the client and stops the server {@link startOwnRedisServer} started. */
export async function stopOwnRedisServer({ server, admin }: OwnRedisServer): Promise<void> {
  admin?.disconnect();
  await server?.stop();
}

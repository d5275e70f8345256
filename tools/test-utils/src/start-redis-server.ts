import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { spawnRedisServer } from './spawn-redis-server';
import { killAndWait } from './wait-for-exit';

/** A redis-server this test owns, on a free port, keeping nothing on disk. */
export interface RedisServerProcess {
  port: number;
  url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it for good. */
  stop(): Promise<void>;
}

/** Finds a TCP port nobody listens on. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts `redis-server` (installed on the machine) on a free port and waits until it accepts. */
export async function startRedisServer(): Promise<RedisServerProcess> {
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    child = await spawnRedisServer(port, ['--save', '', '--appendonly', 'no']);
  };

  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running) await killAndWait(running);
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: launch,
    stop: kill,
  };
}

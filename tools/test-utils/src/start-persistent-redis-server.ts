import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer } from './spawn-redis-server';
import { freePort } from './start-redis-server';
import { killAndWait } from './wait-for-exit';

/** A redis-server this test owns that keeps its data (AOF, fsync always) across a crash. */
export interface PersistentRedisServer {
  port: number;
  url: string;
  /** Kills it at once (SIGKILL), as a crash would; what was written survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port, reloading what it had. */
  restart(): Promise<void>;
  /** Stops it for good and deletes its data. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port with an append-only file synced on every write, in a
 * throwaway directory: after `kill()` and `restart()` it comes back with its data, as a Redis
 * configured for durability does after a crash.
 */
export async function startPersistentRedisServer(): Promise<PersistentRedisServer> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'calltrack-redis-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    child = await spawnRedisServer(port, [
      '--dir',
      directory,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ]);
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
    async stop() {
      await kill();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

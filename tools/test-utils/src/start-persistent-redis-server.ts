import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRedisServer } from './spawn-redis-server';
import { freePort } from './start-redis-server';
import { killAndWait } from './wait-for-exit';

/** A redis-server this test owns that keeps its data across a crash (see `keeps`). */
export interface PersistentRedisServer {
  port: number;
  url: string;
  /** Kills it at once (SIGKILL), as a crash would; what it keeps survives. */
  kill(): Promise<void>;
  /** Starts it again on the same port, reloading what it had. */
  restart(): Promise<void>;
  /** Stops it for good and deletes its data. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port in a throwaway directory. By default (`keeps:
 * 'every-write'`) with an append-only file synced on every write: after `kill()` and `restart()`
 * it comes back with its data, as a Redis configured for durability does after a crash. With
 * `keeps: 'last-save'`, only RDB snapshots taken when told (`SAVE`): it comes back with the data
 * of its last snapshot, as a Redis restored from an older snapshot (or a failover that lost the
 * last writes) does.
 */
export async function startPersistentRedisServer(
  options: { keeps?: 'every-write' | 'last-save' } = {},
): Promise<PersistentRedisServer> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'calltrack-redis-'));
  let child: ChildProcess | undefined;
  const persistence =
    options.keeps === 'last-save'
      ? ['--appendonly', 'no']
      : ['--appendonly', 'yes', '--appendfsync', 'always'];

  const launch = async (): Promise<void> => {
    child = await spawnRedisServer(port, ['--dir', directory, '--save', '', ...persistence]);
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

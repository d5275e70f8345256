import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, killAndWait } from '@calltrack/test-utils';

/** A redis-server this test owns that keeps only what its last `SAVE` wrote. */
export interface SnapshotRedisServer {
  port: number;
  url: string;
  /** Kills it at once (SIGKILL), as a crash would: what was written since the last `SAVE` is lost. */
  kill(): Promise<void>;
  /** Starts it again on the same port, from its last snapshot (RDB). */
  restart(): Promise<void>;
  /** Stops it for good and deletes its snapshot. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` (installed on the machine) on a free port with RDB snapshots only when
 * told (`SAVE`) and no append-only file, in a throwaway directory: after `kill()` and `restart()`
 * it comes back with the data of its last snapshot, as a Redis restored from an older snapshot
 * (or a failover that lost the last writes) does.
 */
export async function startSnapshotRedisServer(): Promise<SnapshotRedisServer> {
  const port = await freePort();
  const directory = mkdtempSync(join(tmpdir(), 'calltrack-redis-rdb-'));
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        directory,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          started.stdout?.off('data', onData);
          started.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        reject(new Error(`redis-server exited (${code}): ${output}`));
      };
      started.stdout?.on('data', onData);
      started.once('error', reject);
      started.once('exit', onExit);
    });
    child = started;
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

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@calltrack/test-utils';

/** The example's directory (where `.next` lives). */
export const appDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const nextBin = createRequire(join(appDirectory, 'package.json')).resolve('next/dist/bin/next');

/** A running `next start` of the example. */
export interface NextApp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Everything the server printed, for failure messages. */
  output(): string;
  /** Kills the server and waits for it to exit. */
  stop(): Promise<void>;
}

function runNext(args: string[], env: Record<string, string>, onOutput: (text: string) => void) {
  const child = spawn(process.execPath, [nextBin, ...args], {
    cwd: appDirectory,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => onOutput(chunk.toString()));
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * Runs `next build` when there is no build yet. In CI the root `turbo run build` has built the
 * app before the tests run; locally, rebuild after changing the app (`npm run build -w
 * @calltrack/example-nextjs`), since an existing `.next` is used as it is.
 */
export async function buildIfMissing(): Promise<void> {
  if (existsSync(join(appDirectory, '.next', 'BUILD_ID'))) return;
  let output = '';
  const code = await exited(runNext(['build'], {}, (text) => (output += text)));
  if (code !== 0) throw new Error(`next build failed (exit ${code}):\n${output}`);
}

/**
 * Starts `next start` on `port` (default: a free loopback port), in memory (no `REDIS_URL`) unless `env` says
 * otherwise, and resolves once it accepts requests.
 */
export async function startNextApp(
  env: Record<string, string> = {},
  port?: number,
): Promise<NextApp> {
  port ??= await freePort();
  let output = '';
  let onOutput = (): void => {};
  const child = runNext(
    ['start', '--port', String(port), '--hostname', '127.0.0.1'],
    { REDIS_URL: '', ...env },
    (text) => {
      output += text;
      onOutput();
    },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      onOutput = () => {
        if (/Ready in/i.test(output)) resolve();
      };
      onOutput();
      child.once('exit', (code) => reject(new Error(`next start exited (${code}):\n${output}`)));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}

import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Spawns `redis-server` (installed on the machine) in the foreground with `args` on `port`
 * (loopback only) and resolves with the process once it accepts connections; rejects with its
 * output if it exits first.
 */
export async function spawnRedisServer(port: number, args: string[]): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', ...args, '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null): void => {
      reject(new Error(`redis-server exited (${code}): ${output}`));
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', onExit);
  });
  return child;
}

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnTypeScript, waitForExit } from '@calltrack/test-utils';
import { describe, expect, it } from 'vitest';
import { openEventStream } from './__tests__/open-event-stream';

const mainFile = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Runs main.ts with `env` until it exits: its exit code and what it wrote to stderr. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@calltrack/source', mainFile],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOST: '127.0.0.1', REDIS_URL: '', PORT: '0', ...env },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('src/main.ts', () => {
  it('ends on a bad variable with the one line naming it, and exit code 1', async () => {
    // This ended in a stack trace (an uncaught error at startup), or listened anyway. Which
    // variables are refused, each with one line naming it: read-demo-config.test.ts.
    const { code, stderr } = await runMain({ PORT: 'abc' });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^PORT must be /);
  });

  it('serves the example fed by the simulator, and shuts down cleanly on SIGTERM', async () => {
    let printUrl: (url: string) => void = () => {};
    const printed = new Promise<string>((resolve) => {
      printUrl = resolve;
    });
    const child = spawnTypeScript(fileURLToPath(new URL('./main.ts', import.meta.url)), {
      args: ['--simulate'],
      // In memory whatever the machine's REDIS_URL; many calls at once so one arrives quickly.
      env: { PORT: '0', HOST: '127.0.0.1', REDIS_URL: '', SIMULATOR_RATE: '20' },
      onLine: (line) => {
        const match = /calltrack Express example: (\S+)/.exec(line);
        if (match) printUrl(match[1]!);
      },
    });
    try {
      const url = await printed;
      const stream = openEventStream(url);
      // A call's event, not a simulated agent's presence (those stream too).
      await stream.until((messages) =>
        messages.some(
          (message) => message.type === 'call' && String(message.data.type).startsWith('call.'),
        ),
      );
      const count = await (await fetch(`${url}/api/calls/active/count`)).json();
      expect(count.total).toBeGreaterThan(0);
      stream.close();
      child.kill('SIGTERM');
      expect(await waitForExit(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

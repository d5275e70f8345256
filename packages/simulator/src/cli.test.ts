import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopTestServers, waitForExit } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookApp } from './__tests__/start-webhook-app';
import { demoLines } from './demo-lines';

afterEach(stopTestServers);

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));

/** Runs `calltrack-sim` as a child process (TypeScript source through tsx), collecting its output. */
function runSimulatorProcess(args: string[], env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@calltrack/source', cli, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  const output = { stdout: '', stderr: '' };
  const firstLine = new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output.stdout += chunk.toString();
      if (output.stdout.includes('\n')) resolve();
    });
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return { child, output, firstLine };
}

describe('calltrack-sim (child process)', () => {
  it('runs --calls 3 --speed 50 against the real handlers and exits 0 with a summary', async () => {
    const app = await startWebhookApp();
    const { child, output } = runSimulatorProcess([
      '--target',
      app.url,
      '--calls',
      '3',
      '--speed',
      '50',
      '--rate',
      '5',
      '--seed',
      '12',
    ]);
    expect(await waitForExit(child)).toBe(0);
    expect(output.stderr).toBe('');
    const lines = output.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^calltrack-sim → http:\/\/127\.0\.0\.1:\d+ · twilio, retell, callerdesk · 5 calls\/s · speed 50× · 3 calls · seed 12$/,
    );
    expect(output.stdout).toContain('calltrack-sim summary');
    expect(output.stdout).toMatch(/calls {6}3 started, 3 completed/);
    expect(output.stdout).toMatch(/0 failed, 0 retries, 0 lost \(0 rejected\)/);
    expect(output.stdout).toContain('seed       12 (replay with --seed 12)');
    // One line per delivery, phone numbers masked.
    const deliveryLines = lines.filter((line) => / 200 +\d+ ms/.test(line));
    expect(deliveryLines).toHaveLength(app.received.length);
    for (const line of demoLines) expect(output.stdout).not.toContain(line.number);
    expect(deliveryLines[0]).toMatch(/\+\d\d\*+\d{3} → \+\d\d\*+\d{3}/);
    expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });
    const ended = app.bus.events.filter((event) => event.type === 'call.ended');
    expect(ended).toHaveLength(3);
  }, 60_000);

  it('exits non-zero with a clear message when the app rejects the signature', async () => {
    const app = await startWebhookApp();
    const { child, output } = runSimulatorProcess(
      ['--target', app.url, '--calls', '3', '--speed', '50', '--providers', 'twilio'],
      { TWILIO_AUTH_TOKEN: 'not-the-apps-token' },
    );
    expect(await waitForExit(child)).toBe(1);
    expect(output.stderr).toContain('✖ 403 from /webhooks/twilio: the auth token does not match');
    expect(output.stderr).toContain('TWILIO_AUTH_TOKEN');
    expect(output.stderr).toContain('Stopping: the app rejects the simulated webhooks');
    expect(output.stdout).toMatch(/1 failed, 0 retries, 1 lost \(1 rejected\)/);
    expect(app.bus.events).toHaveLength(0);
  }, 60_000);

  it('prints the summary and exits on Ctrl+C', async () => {
    const app = await startWebhookApp();
    const { child, output, firstLine } = runSimulatorProcess([
      '--target',
      app.url,
      '--speed',
      '1',
      // One long call now, the next arrival in about 17 minutes.
      '--rate',
      '0.001',
      '--outcomes',
      'completed=1',
      '--quiet',
    ]);
    // --quiet prints nothing until the summary, so wait for the server to see a webhook.
    await firstDelivery(app);
    child.kill('SIGINT');
    expect(await waitForExit(child)).toBe(0);
    await firstLine;
    expect(output.stdout).toContain('calltrack-sim summary');
    expect(output.stdout).toMatch(/1 started, 0 completed, 1 aborted/);
  }, 60_000);
});

/** Resolves once the app received its first request. */
async function firstDelivery(app: Awaited<ReturnType<typeof startWebhookApp>>): Promise<void> {
  if (app.received.length > 0) return;
  await new Promise<void>((resolve) => {
    const original = app.received.push.bind(app.received);
    app.received.push = (...items) => {
      const length = original(...items);
      resolve();
      return length;
    };
  });
}

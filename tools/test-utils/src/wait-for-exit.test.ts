import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { hasExited, killAndWait, waitForExit } from './wait-for-exit';

/** What a promise is after every already-queued callback ran: its value, or 'pending'. */
const settledNow = <T>(promise: Promise<T>): Promise<T | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setImmediate(resolve, 'pending'))]);

const sleeper = () => spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);

describe('waitForExit', () => {
  it('resolves with the exit code of a child that exits later', async () => {
    const child = spawn(process.execPath, ['-e', 'process.exitCode = 3']);
    expect(await waitForExit(child)).toBe(3);
  });

  it('resolves at once for a child that already exited, with a code or by a signal', async () => {
    const exiting = spawn(process.execPath, ['-e', 'process.exitCode = 4']);
    await once(exiting, 'exit');
    expect(await settledNow(waitForExit(exiting))).toBe(4);

    const killed = sleeper();
    killed.kill('SIGKILL');
    await once(killed, 'exit');
    // Killed: no exit code, only a signal. The 'exit' event is over; waiting for it would hang.
    expect(killed.exitCode).toBeNull();
    expect(await settledNow(waitForExit(killed))).toBeNull();
  });
});

describe('killAndWait', () => {
  it('kills a running child and resolves once it is gone, and again at once', async () => {
    const child = sleeper();
    await killAndWait(child);
    expect(hasExited(child)).toBe(true);
    expect(child.signalCode).toBe('SIGKILL');
    expect(await settledNow(killAndWait(child).then(() => 'done'))).toBe('done');
  });

  it('sends the signal it is given', async () => {
    const child = sleeper();
    await killAndWait(child, 'SIGTERM');
    expect(child.signalCode).toBe('SIGTERM');
  });
});

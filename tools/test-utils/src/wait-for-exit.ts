import type { ChildProcess } from 'node:child_process';

/** True once the child has ended: with an exit code, or killed by a signal (exit code null). */
export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Resolves with the exit code once the child ends (null when a signal ended it), also when it
 * already has: its 'exit' event will not fire again.
 */
export function waitForExit(child: ChildProcess): Promise<number | null> {
  if (hasExited(child)) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Kills the child (SIGKILL unless told) and resolves once it is gone; at once if it already is. */
export async function killAndWait(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (hasExited(child)) return;
  const exited = waitForExit(child);
  child.kill(signal);
  await exited;
}

import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Runs a TypeScript file in a separate Node process (through tsx), resolving `@calltrack/*`
 * packages to their source like the tests do. Lines the child prints arrive through `onLine`.
 */
export function spawnTypeScript(
  file: string,
  options: { args?: string[]; env?: Record<string, string>; onLine?: (line: string) => void } = {},
): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@calltrack/source', file, ...(options.args ?? [])],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...options.env } },
  );
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      options.onLine?.(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  });
  return child;
}

/**
 * {@link spawnTypeScript} for a server child that prints `listening <url>` once it accepts
 * connections: the child at once (to clean up even if it never listens), and that URL.
 */
export function spawnListeningChild(
  file: string,
  args: string[],
): { child: ChildProcess; listening: Promise<string> } {
  let onListening!: (url: string) => void;
  const listening = new Promise<string>((resolve) => {
    onListening = resolve;
  });
  const child = spawnTypeScript(file, {
    args,
    onLine: (line) => {
      const [kind, url] = line.split(' ');
      if (kind === 'listening') onListening(url as string);
    },
  });
  return { child, listening };
}

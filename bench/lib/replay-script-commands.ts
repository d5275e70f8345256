// The floor under a Lua step: the Redis commands each FCALL ran, recorded with MONITOR, then
// replayed one FCALL per original call by a function with no logic (a loop of redis.call over the
// recorded arguments). What the replay costs is what the commands themselves cost, inside a
// function, with their arguments passed in; what the step costs above it is its Lua.
import { connect } from 'node:net';
import type { Redis } from 'ioredis';

/** MONITOR's text of one argument (sdscatrepr: `\"`, `\\`, `\n`, `\r`, `\t`, `\a`, `\b`, `\xNN`). */
function unquote(text: string): string {
  return text.replace(/\\x([0-9a-f]{2})|\\(.)/g, (_, hex: string | undefined, char: string) => {
    if (hex !== undefined) return String.fromCharCode(Number.parseInt(hex, 16));
    return { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' }[char] ?? char;
  });
}

/** One MONITOR line: who sent it (`lua` for a script's own commands) and the command. */
function parseMonitorLine(line: string): { fromScript: boolean; command: string[] } | undefined {
  const match = /^\+?\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!match) return undefined;
  const command = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((part) => unquote(part[1]!));
  return { fromScript: match[1] === 'lua', command };
}

const endMarker = 'calltrack-bench-replay-end';

/**
 * Runs `work` while MONITOR watches `redis`'s server, and answers, per FCALL it saw (in order),
 * the commands that call ran. MONITOR prints a script's call before its commands.
 */
export async function recordFunctionCommands(
  redis: Redis,
  work: () => Promise<void>,
): Promise<string[][][]> {
  const { host = '127.0.0.1', port = 6379 } = redis.options;
  const socket = connect(port, host);
  let pending = '';
  const lines: string[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\r\n');
    pending = parts.pop()!;
    lines.push(...parts);
  });
  socket.write('MONITOR\r\n');
  // MONITOR answers +OK once it watches.
  while (!lines.includes('+OK')) await new Promise((resolve) => setTimeout(resolve, 5));
  await work();
  // Seen once everything before it was.
  await redis.echo(endMarker);
  while (!lines.some((line) => line.includes(endMarker))) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  socket.destroy();
  const calls: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of lines) {
    const parsed = parseMonitorLine(line);
    if (!parsed) continue;
    if (parsed.fromScript) {
      current?.push(parsed.command);
    } else if (parsed.command[0]?.toUpperCase() === 'FCALL') {
      current = [];
      calls.push(current);
    } else {
      current = undefined;
    }
  }
  return calls;
}

const replayLibrary = `#!lua name=calltrack_bench_replay
redis.register_function('calltrack_bench_replay', function(keys, args)
  local index = 1
  while index <= #args do
    local count = tonumber(args[index])
    redis.call(unpack(args, index + 1, index + count))
    index = index + count + 1
  end
  return 1
end)`;

/** One call's commands as the replay function's arguments: each command's length, then it. */
export function replayArguments(commands: string[][]): string[] {
  return commands.flatMap((command) => [String(command.length), ...command]);
}

/** Loads the replay function, then runs it once with `args` (one recorded call). */
export async function loadReplayFunction(
  redis: Redis,
): Promise<(args: string[]) => Promise<unknown>> {
  await redis.call('FUNCTION', 'LOAD', 'REPLACE', replayLibrary);
  return (args) => redis.fcall('calltrack_bench_replay', 0, ...args);
}

// Proves that the documentation's runnable snippets work as pasted (`npm run check:snippets`,
// after `npm run build`; the markers are described in extract-doc-snippets.mjs):
//
// 1. installs the packed tarballs of every public package (reused from check-tarballs when
//    unchanged) into a scratch app outside the repository, with what such an app has anyway
//    (express, socket.io, tRPC, React, ioredis and their types);
// 2. writes every runnable program there and typechecks them all under `strict`; an error is
//    reported at its line in the Markdown file;
// 3. starts every served program (`serve=`) with `node` on a free port, watches its SSE
//    endpoint, runs the `npx calltrack-sim …` lines that follow it with the simulator from the
//    tarball (--target pointed at it, and `--speed max --rate 20` added so the check is quick),
//    and requires the simulator to exit 0 and a `call.ended` on the stream for every call.
//
// The served programs get `PORT`, `TWILIO_AUTH_TOKEN` / `RETELL_API_KEY` / `CALLERDESK_TOKEN`
// (the simulator's demo credentials) and `DASHBOARD_TOKEN` (a random bearer token, which the
// check sends to the SSE endpoint) in their environment; the documented apps read those.
//
// `node scripts/check-doc-snippets.mjs [--keep] [file.md…]` checks only the given documents;
// `--keep` leaves the scratch app in place and prints where it is.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { runnablePrograms } from './extract-doc-snippets.mjs';
import { installApp, packPublicPackages, root, typecheck } from './pack-public-packages.mjs';

const argv = process.argv.slice(2);
const keep = argv.includes('--keep');
const only = argv
  .filter((argument) => !argument.startsWith('--'))
  .map((path) => posix.normalize(path));

/** What an app using the packages has installed anyway, at the versions this repository uses. */
const appDependencies = [
  'express',
  '@types/express',
  'socket.io',
  'socket.io-client',
  '@trpc/server',
  '@trpc/client',
  'react',
  'react-dom',
  '@types/react',
  '@types/react-dom',
  'ioredis',
  '@types/node',
  // A test runner: the snippets that run the /testing conformance suites on a backend use vitest.
  'vitest',
].map((name) => {
  const { version } = JSON.parse(
    readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'),
  );
  return `${name}@${version}`;
});

const scratch = mkdtempSync(join(tmpdir(), 'calltrack-snippets-'));
const children = new Set();
let failed = false;

try {
  const programs = runnablePrograms(root).filter(
    (program) => only.length === 0 || only.includes(program.document),
  );
  if (programs.length === 0) throw new Error('no runnable snippets found');
  const documents = new Set(programs.map((program) => program.document));
  console.log(`snippets: ${programs.length} programs in ${documents.size} documents`);

  const tarballs = packPublicPackages();
  installApp(scratch, [...tarballs.values(), ...appDependencies], { type: 'module' });

  const written = writePrograms(programs);
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'es2022',
          lib: ['es2022', 'dom', 'dom.iterable'],
          module: 'preserve',
          moduleResolution: 'bundler',
          moduleDetection: 'force',
          jsx: 'react-jsx',
          strict: true,
          noEmit: true,
          // The packages' own .d.ts are checked by check-tarballs; here the snippets are.
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['docs'],
      },
      null,
      2,
    ),
  );
  const types = typecheck(scratch);
  const errors = types.ok ? [] : mapErrors(types.output, written);
  if (!types.ok) {
    failed = true;
    console.error(`\nsnippets that do not typecheck (strict):\n${errors.join('\n')}\n`);
  } else {
    console.log(`types ok: ${programs.length} programs typecheck under strict`);
  }

  for (const program of programs.filter((candidate) => candidate.serve)) {
    try {
      await serveAndFeed(program, written.get(program));
      console.log(
        `run ok: ${program.document}:${program.segments[0].line - 1} served, fed, calls on ${program.serve}`,
      );
    } catch (error) {
      failed = true;
      console.error(`${program.document}:${program.segments[0].line - 1}: ${error.message}`);
    }
  }
} catch (error) {
  failed = true;
  console.error(`check-doc-snippets: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  for (const child of children) child.kill('SIGKILL');
  if (keep) console.log(`scratch app kept in ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

/**
 * Writes each program under docs/<document>/ in the scratch app; returns, per program, its
 * absolute path and the map from its lines back to the Markdown lines.
 */
function writePrograms(programs) {
  const written = new Map();
  for (const program of programs) {
    const base = join(
      scratch,
      'docs',
      program.document.replace(/\.md$/, '').replace(/[^\w/-]/g, '-'),
    );
    const extension = program.language === 'tsx' ? '.tsx' : '.ts';
    const file = join(base, program.file.replace(/\.tsx?$/, extension));
    mkdirSync(dirname(file), { recursive: true });
    const lines = [];
    const origins = [];
    for (const segment of program.segments) {
      segment.code.split('\n').forEach((line, offset) => {
        // `@/…` is the document's app root, as Next.js's default alias.
        lines.push(
          line.replace(/(from\s+['"])@\/([^'"]+)(['"])/, (_, open, path, close) => {
            const target = relative(dirname(file), join(base, path)).split('\\').join('/');
            return `${open}${target.startsWith('.') ? target : `./${target}`}${close}`;
          }),
        );
        origins.push(segment.line + offset);
      });
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    written.set(program, { file, document: program.document, origins });
  }
  return written;
}

/** tsc's `file(line,col): error …` lines, pointed at the Markdown line they come from. */
function mapErrors(output, written) {
  const byFile = new Map([...written.values()].map((entry) => [entry.file, entry]));
  const messages = [];
  for (const line of output.split('\n')) {
    const match = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line);
    if (!match) {
      if (line.trim() !== '' && messages.length > 0) messages[messages.length - 1] += `\n${line}`;
      else if (line.trim() !== '') messages.push(line);
      continue;
    }
    const entry = byFile.get(join(scratch, match[1]));
    const origin = entry?.origins[Number(match[2]) - 1];
    messages.push(
      entry && origin !== undefined
        ? `${entry.document}:${origin}:${match[3]} ${match[4]}`
        : `${match[1]}(${match[2]},${match[3]}) ${match[4]}`,
    );
  }
  return messages;
}

/** Starts a served program, feeds it with its `calltrack-sim` lines, watches the calls arrive. */
async function serveAndFeed(program, entry) {
  if (program.feed.length === 0)
    throw new Error(
      'a served program needs a `sh runnable` block with `npx calltrack-sim …` after it',
    );
  const { build } = await import(join(root, 'node_modules', 'esbuild', 'lib', 'main.js'));
  const runnable = entry.file.replace(/\.tsx?$/, '.mjs');
  await build({
    entryPoints: [entry.file],
    outfile: runnable,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    bundle: false,
    jsx: 'automatic',
    logLevel: 'silent',
  });
  const { demoCredentials } = await import(
    join(scratch, 'node_modules', '@calltrack', 'simulator', 'dist', 'index.js')
  );
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const env = {
    ...process.env,
    PORT: String(port),
    DASHBOARD_TOKEN: token,
    TWILIO_AUTH_TOKEN: demoCredentials.twilioAuthToken,
    RETELL_API_KEY: demoCredentials.retellApiKey,
    CALLERDESK_TOKEN: demoCredentials.callerDeskToken,
  };
  const output = [];
  const server = spawn(process.execPath, [runnable], {
    cwd: scratch,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(server);
  server.stdout.on('data', (chunk) => output.push(String(chunk)));
  server.stderr.on('data', (chunk) => output.push(String(chunk)));
  const exited = new Promise((resolve) =>
    server.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const origin = `http://127.0.0.1:${port}`;
  const fail = (message) => {
    throw new Error(`${message}\n  server output:\n${indent(output.join('') || '(none)')}`);
  };
  try {
    if (!(await until(() => canConnect(port), 15_000, exited)))
      fail(`it did not listen on PORT (${port})`);
    const stream = watchCallEvents(`${origin}${program.serve}`, token);
    try {
      await stream.opened;
    } catch (error) {
      fail(
        `its SSE endpoint ${program.serve} did not answer 200 with DASHBOARD_TOKEN: ${error.message}`,
      );
    }
    let expectedCalls = 0;
    for (const { line, command } of program.feed) {
      const args = shellWords(command).slice(2);
      const target = args.indexOf('--target');
      if (target === -1)
        throw new Error(`${program.document}:${line}: the calltrack-sim line has no --target`);
      args[target + 1] = origin;
      const calls = args.indexOf('--calls');
      if (calls === -1)
        throw new Error(`${program.document}:${line}: the calltrack-sim line needs --calls to end`);
      expectedCalls += Number(args[calls + 1]);
      const simulator = await runToEnd(
        join(scratch, 'node_modules', '.bin', 'calltrack-sim'),
        [...args, '--speed', 'max', '--rate', '20', '--quiet'],
        env,
      );
      if (simulator.code !== 0) {
        fail(
          `${program.document}:${line}: calltrack-sim exited ${simulator.code}:\n${indent(simulator.output)}`,
        );
      }
    }
    if (!(await until(() => stream.ended.size >= expectedCalls, 20_000, exited))) {
      fail(`${stream.ended.size} of ${expectedCalls} calls ended on ${program.serve}`);
    }
    stream.close();
  } finally {
    server.kill('SIGKILL');
    children.delete(server);
  }
}

/** Reads an SSE endpoint with a bearer token; collects the call ids of `call.ended` events. */
function watchCallEvents(url, token) {
  const controller = new AbortController();
  const ended = new Set();
  const opened = fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  }).then((response) => {
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of response.body) {
          buffer += decoder.decode(chunk, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end !== -1) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = frame.split('\n');
            const data = lines
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trim())
              .join('\n');
            if (lines.includes('event: call')) {
              const event = JSON.parse(data);
              if (event.type === 'call.ended') ended.add(event.callId);
            }
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // Closed by close(), or the server went away: the caller's deadline reports it.
      }
    })();
  });
  return { opened, ended, close: () => controller.abort() };
}

/** Resolves true once `condition()` holds, false after `ms` or when `exited` settles first. */
async function until(condition, ms, exited) {
  const deadline = Date.now() + ms;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (Date.now() < deadline && !gone) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

function canConnect(port) {
  return fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' }).then(
    () => true,
    () => false,
  );
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function runToEnd(command, args, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: scratch, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

/** Splits a shell command line into words (single and double quotes, no expansions). */
function shellWords(line) {
  const words = [];
  let current = '';
  let quote;
  let inWord = false;
  for (const character of line) {
    if (quote) {
      if (character === quote) quote = undefined;
      else current += character;
    } else if (character === "'" || character === '"') {
      quote = character;
      inWord = true;
    } else if (/\s/.test(character)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else if (character === '#' && !inWord) {
      break;
    } else {
      current += character;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

function indent(text) {
  return text
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

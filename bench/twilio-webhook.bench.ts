// Throughput and server CPU per request of the Twilio webhook handler, against the physical
// baseline (a bare node:http server) and the peer a user would otherwise write (Express 5 +
// express.urlencoded() + the twilio SDK's validateRequest + an EventEmitter), in the same run.
//
// Each server runs in its own child process (same Node flags), and so does the load: autocannon in
// `--generators=N` processes (default 2; 10 connections split between them, 5 s after a 1 s
// warm-up, loopback). One generator process costs more CPU per request than the bare server
// does: alone, it was what capped the bare server's req/s (two generators gave it 20-25 % more on
// this two-core machine), which made the throughput ratio against bare look better than it is.
// Every server gets the very same pre-signed status callbacks, one distinct CallSid per request,
// so the handler does the full work every time: read the body, verify X-Twilio-Signature, parse,
// resolve the tenant and publish into the memory bus (not duplicates). The bare server reads the
// body and answers 204; the peer verifies, emits and answers 204. Rounds alternate the servers and
// the medians are reported; `--rounds=N` changes how many (default 4), `--only=twilio,bare`
// measures only some servers (for profiling work; no ratios; `fast-path` is core's webhook fast
// path with a handler that only reads the body), and `--rate=N` offers each server the same N
// requests per second (CPU per request then compares servers at one load, instead of each at its
// own saturation).
//
// What the ratios mean: server CPU per request is measured inside each server process
// (`process.cpuUsage`), so it does not depend on how the cores are shared. Requests per second
// are those of a server and its load generators sharing the machine's cores: calltrack's is bound
// by its own CPU per request, bare's by the CPU of server and generators together. The "generator CPU %" column shows how busy the load side was.
//
//   node --import tsx --conditions=@calltrack/source bench/twilio-webhook.bench.ts
import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { readRequestText } from '@calltrack/core';
import { createIncomingWebhookEndpoint } from '@calltrack/core/internal';
import { toNodeHandler } from '@calltrack/core/node';
import { computeTwilioSignature, createTwilioWebhookHandler } from '@calltrack/twilio';
import express from 'express';
import twilio from 'twilio';
import { printTable, ratio } from './lib/report';

type Target = 'bare' | 'peer' | 'bridge' | 'fast-path' | 'twilio';

const authToken = 'bench-auth-token-0123456789abcdef';
const path = '/webhooks/twilio';
const connections = 10;
const durationSeconds = 5;
const warmupSeconds = 1;
/** More distinct callbacks than a run can send, so none of the measured ones is a duplicate. */
const distinctRequests = 120_000;

// ---- server side (child process) ---------------------------------------------------------------

/** What a user would write without calltrack: Express, its form parser, twilio-node, an emitter. */
function peerApp(): express.Express {
  const calls = new EventEmitter();
  calls.on('status', () => {});
  const app = express();
  app.post(path, express.urlencoded({ extended: false }), (request, response) => {
    const signature = request.header('x-twilio-signature');
    const url = `${request.protocol}://${request.get('host')}${request.originalUrl}`;
    if (!signature || !twilio.validateRequest(authToken, signature, url, request.body)) {
      response.sendStatus(403);
      return;
    }
    const { CallSid, CallStatus, From, To, Timestamp } = request.body as Record<string, string>;
    calls.emit('status', { callSid: CallSid, status: CallStatus, from: From, to: To, Timestamp });
    response.sendStatus(204);
  });
  return app;
}

function startServer(target: Target): void {
  const listener =
    target === 'peer'
      ? peerApp()
      : target === 'bare'
        ? (request: IncomingMessage, response: ServerResponse) => {
            request.on('data', () => {});
            request.on('end', () => {
              response.statusCode = 204;
              response.end();
            });
          }
        : target === 'bridge'
          ? // What core's Node bridge costs by itself: Request creation and reading the body.
            toNodeHandler(async (request) => {
              await readRequestText(request, { maxBytes: 64 * 1024 });
              return new Response(null, { status: 204 });
            })
          : target === 'fast-path'
            ? // What the webhook fast path costs by itself (no Request, no Response): the endpoint
              // checks, reading the body and the one-write JSON answer, for --only profiling runs.
              toNodeHandler(
                createIncomingWebhookEndpoint(
                  { provider: 'bench', methods: ['POST'] },
                  async (incoming) => ({
                    ok: true,
                    bytes: (await incoming.readText(65_536)).length,
                  }),
                ),
              )
            : toNodeHandler(
                createTwilioWebhookHandler({
                  authToken,
                  sink: createMemoryBus(),
                  resolveTenant: ({ to }) => (to === '+14155550100' ? { tenantId: 'bench' } : null),
                }),
              );
  const server = createServer(listener);
  server.keepAliveTimeout = 60_000;
  // CPU time per request, measured in the server process: unlike req/s it does not depend on
  // how the two cores are shared between this server and the load generator.
  let requests = 0;
  let cpuMark = process.cpuUsage();
  server.on('request', () => {
    requests += 1;
  });
  process.on('message', (message: { type: string }) => {
    if (message.type === 'mark') {
      requests = 0;
      cpuMark = process.cpuUsage();
      process.send!({ type: 'marked' });
    } else if (message.type === 'report') {
      const used = process.cpuUsage(cpuMark);
      process.send!({ type: 'cpu', cpuMicros: used.user + used.system, requests });
    }
  });
  server.listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as AddressInfo).port });
  });
}

/** Sends a child a message and waits for its answer of the given type. */
function ask<T>(
  child: ChildProcess,
  answer: string,
  message: { type: string; [field: string]: unknown },
): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (reply: { type?: string }) => {
      if (reply.type !== answer) return;
      child.off('message', onMessage);
      resolve(reply as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

// ---- load side (main thread) -----------------------------------------------------------------

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  /** Server CPU time (user + system) per request, in microseconds; added by `measure`. */
  cpuMicrosPerRequest?: number;
  /** Share of one core the load generator (this process) used while measuring. */
  generatorCpuShare?: number;
  /** Share of one core the server used while measuring. */
  serverCpuShare?: number;
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: { setupRequest: (request: AutocannonRequest) => AutocannonRequest }[];
  overallRate?: number;
}) => Promise<AutocannonResult>;

const generatorsFlag = process.argv.find((argument) => argument.startsWith('--generators='));
/** `--generators=N`: load generator processes (default 2), the connections split between them. */
const generatorCount =
  generatorsFlag === undefined ? 2 : Number(generatorsFlag.slice('--generators='.length));

const rateFlag = process.argv.find((argument) => argument.startsWith('--rate='));
/** `--rate=N`: offer every server the same N requests per second instead of as many as it takes. */
const fixedRate = rateFlag === undefined ? undefined : Number(rateFlag.slice('--rate='.length));

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function statusCallback(index: number): string {
  const callSid = `CA${index.toString(16).padStart(32, '0')}`;
  return new URLSearchParams({
    Called: '+14155550100',
    ToState: 'CA',
    CallerCountry: 'US',
    Direction: 'outbound-api',
    Timestamp: 'Sun, 25 Mar 2018 09:53:19 +0000',
    CallbackSource: 'call-progress-events',
    SequenceNumber: String(index % 4),
    CallStatus: 'completed',
    Duration: '1',
    CallDuration: '49',
    CallSid: callSid,
    To: '+14155550100',
    ToCountry: 'US',
    ApiVersion: '2010-04-01',
    Caller: '+14155550199',
    FromCountry: 'US',
    From: '+14155550199',
    AccountSid: 'AC0123456789abcdef0123456789abcdef',
  }).toString();
}

async function startServerProcess(target: Target): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', target], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${target} server exited with ${code}`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill();
  await exited;
}

/** What one generator process reports about one run. */
interface GeneratorRun {
  type: 'ran';
  result: AutocannonResult;
  cpuMicros: number;
  exhausted: boolean;
}

/**
 * A load generator process (`--generate <index> <count> <url>`): signs its share of the distinct
 * callbacks up front (so signing costs every server alike and nothing during the run), then runs
 * autocannon whenever asked, continuing through its callbacks from run to run.
 */
function startGenerator(index: number, count: number, url: string): void {
  const prepared: AutocannonRequest[] = [];
  for (let sequence = index; sequence < distinctRequests; sequence += count) {
    const body = statusCallback(sequence);
    prepared.push({
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': computeTwilioSignature({
          authToken,
          url,
          params: new URLSearchParams(body),
        }),
      },
      body,
    });
  }
  let next = 0;
  // Merge into autocannon's own request: it carries the host and port for the Host header.
  const requests = [
    {
      setupRequest: (request: AutocannonRequest): AutocannonRequest => {
        const chosen = prepared[next++ % prepared.length]!;
        return { ...request, ...chosen, headers: { ...request.headers, ...chosen.headers } };
      },
    },
  ];
  process.on(
    'message',
    async (message: { type: string; duration: number; connections: number; rate?: number }) => {
      if (message.type !== 'run') return;
      const mark = process.cpuUsage();
      const result = await autocannon({
        url,
        connections: message.connections,
        duration: message.duration,
        requests,
        ...(message.rate === undefined ? {} : { overallRate: message.rate }),
      });
      const used = process.cpuUsage(mark);
      const { requests: counts, latency, non2xx, errors, timeouts } = result;
      const run: GeneratorRun = {
        type: 'ran',
        result: { requests: counts, latency, non2xx, errors, timeouts },
        cpuMicros: used.user + used.system,
        exhausted: next > prepared.length,
      };
      process.send!(run);
    },
  );
  process.send!({ type: 'ready' });
}

async function startGeneratorProcess(index: number, count: number, url: string) {
  const child = fork(fileURLToPath(import.meta.url), [
    '--generate',
    String(index),
    String(count),
    url,
  ]);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
  });
  return child;
}

/** Runs every generator at once for `duration` seconds and merges what they measured. */
async function generate(
  generators: ChildProcess[],
  duration: number,
  rate: number | undefined,
): Promise<{ result: AutocannonResult; cpuMicros: number; exhausted: boolean }> {
  const runs = await Promise.all(
    generators.map((generator, index) =>
      ask<GeneratorRun>(generator, 'ran', {
        type: 'run',
        duration,
        // Split the connections (and the offered rate) between the generators.
        connections:
          Math.floor(connections / generators.length) +
          (index < connections % generators.length ? 1 : 0),
        ...(rate === undefined ? {} : { rate: rate / generators.length }),
      }),
    ),
  );
  const sum = (pick: (run: GeneratorRun) => number) =>
    runs.reduce((total, run) => total + pick(run), 0);
  return {
    result: {
      requests: {
        average: sum((run) => run.result.requests.average),
        total: sum((run) => run.result.requests.total),
      },
      // Per-generator percentiles: the p50 of the first, the worst p99.
      latency: {
        p50: runs[0]!.result.latency.p50,
        p99: Math.max(...runs.map((run) => run.result.latency.p99)),
      },
      non2xx: sum((run) => run.result.non2xx),
      errors: sum((run) => run.result.errors),
      timeouts: sum((run) => run.result.timeouts),
    },
    cpuMicros: sum((run) => run.cpuMicros),
    exhausted: runs.some((run) => run.exhausted),
  };
}

async function measure(target: Target): Promise<AutocannonResult> {
  const { child, port } = await startServerProcess(target);
  const url = `http://127.0.0.1:${port}${path}`;
  const generators: ChildProcess[] = [];
  try {
    for (let index = 0; index < generatorCount; index += 1) {
      generators.push(await startGeneratorProcess(index, generatorCount, url));
    }
    await generate(generators, warmupSeconds, undefined);
    await ask(child, 'marked', { type: 'mark' });
    const { result, cpuMicros, exhausted } = await generate(generators, durationSeconds, fixedRate);
    const cpu = await ask<{ cpuMicros: number; requests: number }>(child, 'cpu', {
      type: 'report',
    });
    result.cpuMicrosPerRequest = cpu.cpuMicros / Math.max(1, cpu.requests);
    result.generatorCpuShare = cpuMicros / (durationSeconds * 1_000_000);
    result.serverCpuShare = cpu.cpuMicros / (durationSeconds * 1_000_000);
    if (exhausted) {
      console.warn(`  ${target}: ran out of distinct callbacks; later ones were duplicates`);
    }
    return result;
  } finally {
    await Promise.all([child, ...generators].map(stop));
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

interface Summary {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  generatorCpuShare: number;
  serverCpuShare: number;
}

function summarize(results: AutocannonResult[]): Summary {
  return {
    requestsPerSecond: median(results.map((result) => result.requests.average)),
    cpuMicrosPerRequest: median(results.map((result) => result.cpuMicrosPerRequest ?? 0)),
    p50: median(results.map((result) => result.latency.p50)),
    p99: median(results.map((result) => result.latency.p99)),
    non2xx: results.reduce((sum, result) => sum + result.non2xx, 0),
    errors: results.reduce((sum, result) => sum + result.errors + result.timeouts, 0),
    generatorCpuShare: median(results.map((result) => result.generatorCpuShare ?? 0)),
    serverCpuShare: median(results.map((result) => result.serverCpuShare ?? 0)),
  };
}

function row(server: string, summary: Summary): Record<string, string | number> {
  return {
    server,
    'req/s': Math.round(summary.requestsPerSecond),
    'p50 ms': summary.p50,
    'p99 ms': summary.p99,
    'server CPU µs/req': Number(summary.cpuMicrosPerRequest.toFixed(1)),
    'server CPU %': Math.round(summary.serverCpuShare * 100),
    'generator CPU %': Math.round(summary.generatorCpuShare * 100),
    'non-2xx': summary.non2xx,
    errors: summary.errors,
  };
}

async function main(): Promise<void> {
  const roundsFlag = process.argv.find((argument) => argument.startsWith('--rounds='));
  const rounds = roundsFlag === undefined ? 4 : Number(roundsFlag.slice('--rounds='.length));
  console.log(
    `twilio webhook: ${connections} connections from ${generatorCount} load generator process(es), ${durationSeconds} s per server (after ${warmupSeconds} s warm-up), loopback, ${rounds} rounds (medians)`,
  );
  const onlyFlag = process.argv.find((argument) => argument.startsWith('--only='));
  const targets: Target[] = ['bare', 'peer', 'bridge', 'twilio'];
  const measured =
    onlyFlag === undefined ? targets : (onlyFlag.slice('--only='.length).split(',') as Target[]);
  const results = new Map<Target, AutocannonResult[]>(
    [...targets, ...measured].map((target) => [target, []]),
  );
  for (let round = 0; round < rounds; round += 1) {
    for (const target of measured) results.get(target)!.push(await measure(target));
  }
  if (measured !== targets) {
    for (const target of measured) console.log(target, summarize(results.get(target)!));
    return;
  }
  const [bare, peer, bridge, calltrack] = targets.map((target) => summarize(results.get(target)!));
  printTable('twilio webhook throughput', [
    row('bare node:http (204)', bare!),
    row('peer: express 5 + urlencoded + twilio validateRequest + EventEmitter (204)', peer!),
    row('toNodeHandler + read body (204)', bridge!),
    row('calltrack twilio handler → memory bus (200)', calltrack!),
  ]);
  console.log(
    `server CPU per request: calltrack ${calltrack!.cpuMicrosPerRequest.toFixed(1)} µs, peer ${peer!.cpuMicrosPerRequest.toFixed(1)} µs, bare ${bare!.cpuMicrosPerRequest.toFixed(1)} µs`,
  );
  console.log(
    `ratio CPU/request calltrack / peer: ${ratio(calltrack!.cpuMicrosPerRequest, peer!.cpuMicrosPerRequest)} (target ≤ 0.5)`,
  );
  console.log(
    `ratio throughput calltrack / bare: ${ratio(calltrack!.requestsPerSecond, bare!.requestsPerSecond)} (target ≥ 0.35), ` +
      `calltrack / peer: ${ratio(calltrack!.requestsPerSecond, peer!.requestsPerSecond)}, ` +
      `bridge / bare: ${ratio(bridge!.requestsPerSecond, bare!.requestsPerSecond)}`,
  );
  if (calltrack!.non2xx > 0 || calltrack!.errors > 0 || peer!.non2xx > 0 || peer!.errors > 0) {
    console.error('a server answered errors: the figures are not valid');
    process.exitCode = 1;
  }
}

const serveIndex = process.argv.indexOf('--serve');
const generateIndex = process.argv.indexOf('--generate');
if (serveIndex !== -1) {
  startServer(process.argv[serveIndex + 1] as Target);
} else if (generateIndex !== -1) {
  const [index, count, url] = process.argv.slice(generateIndex + 1);
  startGenerator(Number(index), Number(count), url!);
} else {
  await main();
}

// Throughput of the Twilio webhook handler against a bare node:http server, in the same run.
//
// Each server runs in its own child process (same Node flags); autocannon (10 connections, 5 s after a 1 s warm-up,
// loopback) drives it from the main thread. Both servers get the very same pre-signed status
// callbacks, one distinct CallSid per request, so the handler does the full work every time:
// read the body, verify X-Twilio-Signature, parse, resolve the tenant and publish into the
// memory bus (not duplicates). The bare server reads the body and answers 204.
//
//   node --import tsx --conditions=@calltrack/source bench/twilio-webhook.bench.ts
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { readRequestText } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import { computeTwilioSignature, createTwilioWebhookHandler } from '@calltrack/twilio';
import { printTable, ratio } from './lib/report';

type Target = 'bare' | 'bridge' | 'twilio';

const authToken = 'bench-auth-token-0123456789abcdef';
const path = '/webhooks/twilio';
const connections = 10;
const durationSeconds = 5;
const warmupSeconds = 1;
/** More distinct callbacks than a run can send, so none of the measured ones is a duplicate. */
const distinctRequests = 120_000;

// ---- server side (child process) ---------------------------------------------------------------

function startServer(target: Target): void {
  const listener =
    target === 'bare'
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

/** Asks the server child for something and waits for its answer of the given type. */
function ask<T>(child: ChildProcess, type: string, answer: string): Promise<T> {
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string }) => {
      if (message.type !== answer) return;
      child.off('message', onMessage);
      resolve(message as T);
    };
    child.on('message', onMessage);
    child.send({ type });
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
}) => Promise<AutocannonResult>;

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

async function measure(target: Target): Promise<AutocannonResult> {
  const { child, port } = await startServerProcess(target);
  const url = `http://127.0.0.1:${port}${path}`;
  // Sign everything up front so the load generator costs the same for both servers.
  const prepared: AutocannonRequest[] = [];
  for (let index = 0; index < distinctRequests; index += 1) {
    const body = statusCallback(index);
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
  try {
    await autocannon({ url, connections, duration: warmupSeconds, requests });
    await ask(child, 'mark', 'marked');
    const result = await autocannon({ url, connections, duration: durationSeconds, requests });
    const cpu = await ask<{ cpuMicros: number; requests: number }>(child, 'report', 'cpu');
    result.cpuMicrosPerRequest = cpu.cpuMicros / Math.max(1, cpu.requests);
    if (next > prepared.length) {
      console.warn(`  ${target}: ran out of distinct callbacks; later ones were duplicates`);
    }
    return result;
  } finally {
    await stop(child);
  }
}

function row(server: string, result: AutocannonResult): Record<string, string | number> {
  return {
    server,
    'req/s': Math.round(result.requests.average),
    'p50 ms': result.latency.p50,
    'p99 ms': result.latency.p99,
    'server CPU µs/req': Number(result.cpuMicrosPerRequest?.toFixed(1)),
    'non-2xx': result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

async function main(): Promise<void> {
  console.log(
    `twilio webhook: ${connections} connections, ${durationSeconds} s per server (after ${warmupSeconds} s warm-up), loopback`,
  );
  const bare = await measure('bare');
  const bridge = await measure('bridge');
  const twilio = await measure('twilio');
  printTable('twilio webhook throughput', [
    row('bare node:http (204)', bare),
    row('toNodeHandler + read body (204)', bridge),
    row('twilio handler → memory bus', twilio),
  ]);
  const twilioRatio = ratio(twilio.requests.average, bare.requests.average);
  console.log(`ratio twilio / bare: ${twilioRatio} (target ≥ 0.6)`);
  console.log(
    `server CPU per request: bare ${bare.cpuMicrosPerRequest?.toFixed(1)} µs, twilio ${twilio.cpuMicrosPerRequest?.toFixed(1)} µs ` +
      `(ratio bare / twilio ${ratio(bare.cpuMicrosPerRequest ?? 0, twilio.cpuMicrosPerRequest ?? 1)})`,
  );
  console.log(
    `ratio bridge / bare: ${ratio(bridge.requests.average, bare.requests.average)}, ` +
      `twilio / bridge: ${ratio(twilio.requests.average, bridge.requests.average)}`,
  );
  if (twilio.non2xx > 0 || twilio.errors > 0) {
    console.error('the twilio handler answered errors: the figures are not valid');
    process.exitCode = 1;
  }
}

const serveIndex = process.argv.indexOf('--serve');
if (serveIndex === -1) {
  await main();
} else {
  startServer(process.argv[serveIndex + 1] as Target);
}

// @calltrack/trpc: memory per idle `onCallEvent` subscription (tRPC v11 SSE, standalone adapter,
// behind withNodeSseRetry as the README shows) and fan-out deliveries/s, measured in the same run
// against
// - bare tRPC v11: a subscription yielding `tracked(cursor, event)` from the same memory bus, the
//   peer a user would otherwise write (the cost of tRPC's own SSE pipeline);
// - a bare node:http SSE endpoint over the same bus (one bus subscription per connection,
//   `id:`/`data:` lines): the physical baseline.
// Clients are raw TCP sockets in a child process, so their memory is not counted.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createCallTrackRouter, withNodeSseRetry } from '@calltrack/trpc';
import { initTRPC, tracked } from '@trpc/server';
import { createHTTPHandler, createHTTPServer } from '@trpc/server/adapters/standalone';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const wanted = 3000;
const fdLimit = await new Promise<number>((resolve) => {
  const child = spawn('sh', ['-c', 'ulimit -n'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.on('close', () => resolve(Number.parseInt(out, 10) || 1024));
});
const connections = Math.min(wanted, Math.max(100, fdLimit - 200));
if (connections < wanted) {
  console.log(
    `note: ulimit -n is ${fdLimit}; using ${connections} connections instead of ${wanted}`,
  );
}
// Small rounds: tRPC's SSE pipeline delivers far slower than a bare `res.write`, and the run
// must stay under ~3 minutes on a shared 2-core machine. The median of `rounds` is kept.
const eventsPerRound = 5;
const rounds = 5;

// The client process: opens `count` sockets in batches, reports when each got its first chunk
// containing `marker`, then counts delivered events (occurrences of `"id":"twilio:`).
const clientScript = `
const net = require('node:net');
const sockets = [];
let delivered = 0, expected = Infinity;
const needle = '"id":"twilio:';
function count(text) { let n = 0, i = 0; while ((i = text.indexOf(needle, i)) !== -1) { n++; i += needle.length; } return n; }
process.on('message', async (msg) => {
  if (msg.cmd === 'connect') {
    let ready = 0;
    for (let start = 0; start < msg.count; start += 250) {
      const batch = [];
      for (let i = start; i < Math.min(msg.count, start + 250); i++) {
        batch.push(new Promise((resolve, reject) => {
          const socket = net.connect(msg.port, '127.0.0.1');
          sockets.push(socket);
          let seen = '', isReady = false, tail = '';
          socket.setEncoding('utf8');
          socket.on('error', reject);
          socket.on('data', (chunk) => {
            if (!isReady) { seen += chunk; if (seen.includes(msg.marker)) { isReady = true; ready++; resolve(); } }
            const text = tail + chunk;
            delivered += count(text) - count(tail);
            tail = text.slice(-needle.length);
            if (delivered >= expected) { expected = Infinity; process.send({ type: 'delivered' }); }
          });
          socket.write('GET ' + msg.path + ' HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAccept: text/event-stream\\r\\nAuthorization: Bearer bench\\r\\n\\r\\n');
        }));
      }
      await Promise.all(batch);
    }
    process.send({ type: 'connected', ready });
  } else if (msg.cmd === 'expect') {
    delivered = 0;
    expected = msg.total;
  } else if (msg.cmd === 'close') {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  }
});
process.send({ type: 'started' });
`;

interface ClientProcess {
  send(message: object): void;
  next(type: string): Promise<Record<string, unknown>>;
  exited: Promise<void>;
}

function startClients(): Promise<ClientProcess> {
  const child = spawn(process.execPath, ['-e', clientScript], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, (message: Record<string, unknown>) => void>();
  child.on('message', (message: Record<string, unknown>) => {
    const resolve = waiting.get(message.type as string);
    waiting.delete(message.type as string);
    resolve?.(message);
  });
  const client: ClientProcess = {
    send: (message) => child.send(message),
    next: (type) => new Promise((resolve) => waiting.set(type, resolve)),
    exited: new Promise((resolve) => child.on('exit', () => resolve())),
  };
  const started = client.next('started');
  return started.then(() => client);
}

function baselineServer(bus: EventBus): Server {
  return createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write(': ok\n\n');
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    const subscription = bus.subscribe({ tenantId: 'bench-tenant', signal: controller.signal });
    void (async () => {
      for await (const message of subscription) {
        if (message.type === 'event') {
          res.write(`id: ${message.cursor}\ndata: ${JSON.stringify(message.event)}\n\n`);
        }
      }
    })();
  });
}

/** The peer: tRPC v11 as its docs show it, a subscription yielding tracked events off the bus. */
function bareTrpcServer(bus: EventBus): Server {
  const t = initTRPC.context<{ tenantId?: string }>().create();
  const router = t.router({
    onEvent: t.procedure.subscription(async function* ({ ctx, signal }) {
      if (!ctx.tenantId) throw new Error('unauthorized');
      for await (const message of bus.subscribe({ tenantId: ctx.tenantId, signal })) {
        if (message.type === 'event') yield tracked(message.cursor, message.event);
      }
    }),
  });
  return createHTTPServer({
    router,
    createContext: ({ req }) => ({
      tenantId: req.headers.authorization === 'Bearer bench' ? 'bench-tenant' : undefined,
    }),
  });
}

function trpcServer(bus: EventBus): Server {
  const t = initTRPC.context<{ tenantId?: string }>().create();
  const router = t.router({
    calltrack: createCallTrackRouter({
      t,
      bus,
      authenticate: (ctx) => (ctx.tenantId ? { tenantId: ctx.tenantId } : null),
    }),
  });
  return createServer(
    withNodeSseRetry(
      createHTTPHandler({
        router,
        createContext: ({ req }) => ({
          tenantId: req.headers.authorization === 'Bearer bench' ? 'bench-tenant' : undefined,
        }),
      }),
    ),
  );
}

let run = 0;

interface Measured {
  heapPerConnection: number;
  deliveriesPerSecond: number;
  /** Deliveries per second of the server process's own CPU time (user + system). */
  deliveriesPerCpuSecond: number;
}

async function measure(
  name: string,
  makeServer: (bus: EventBus) => Server,
  path: string,
  marker: string,
): Promise<Measured> {
  run += 1;
  const bus = createMemoryBus({ history: { maxEvents: 100 } });
  const server = makeServer(bus);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
  const { port } = server.address() as AddressInfo;
  const client = await startClients();

  // Heap per connection between a first sixth and all of them, so that what the first
  // connections warm up (JIT, pools) is not counted.
  const first = Math.floor(connections / 6);
  const connectedAt = performance.now();
  client.send({ cmd: 'connect', port, path, count: first, marker });
  await client.next('connected');
  gc?.();
  const before = process.memoryUsage();
  client.send({ cmd: 'connect', port, path, count: connections - first, marker });
  await client.next('connected');
  const connectMs = performance.now() - connectedAt;
  gc?.();
  const after = process.memoryUsage();

  // Fan-out: warm up one round, then time `rounds` rounds of `eventsPerRound` events (median).
  // Wall time moves with whatever else the machine runs; the server's own CPU time much less.
  let index = 0;
  const round = async (): Promise<{ ms: number; cpuMs: number }> => {
    client.send({ cmd: 'expect', total: connections * eventsPerRound });
    const delivered = client.next('delivered');
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < eventsPerRound; i += 1) {
      index += 1;
      await bus.publish(benchEvent(index, 'bench-tenant', `${name}${run}`));
    }
    await delivered;
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
  };
  await round();
  const times: { ms: number; cpuMs: number }[] = [];
  for (let count = 0; count < rounds; count += 1) times.push(await round());
  const median = (values: number[]) =>
    [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

  client.send({ cmd: 'close' });
  await client.exited;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await bus.close();
  console.log(`${name}: ${connections} connected in ${Math.round(connectMs)} ms`);
  const deliveries = connections * eventsPerRound;
  return {
    heapPerConnection: Math.round((after.heapUsed - before.heapUsed) / (connections - first)),
    deliveriesPerSecond: perSecond(deliveries, median(times.map((time) => time.ms))),
    deliveriesPerCpuSecond: perSecond(deliveries, median(times.map((time) => time.cpuMs))),
  };
}

const baseline = await measure('node:http SSE', baselineServer, '/sse', ': ok');
const bare = await measure('bare tRPC', bareTrpcServer, '/onEvent', 'event: connected');
const trpc = await measure(
  '@calltrack/trpc',
  trpcServer,
  '/calltrack.onCallEvent',
  '"type":"ready"',
);

const row = (name: string, result: Measured) => ({
  transport: name,
  'heap B/conn': result.heapPerConnection,
  'deliveries/s': result.deliveriesPerSecond,
  'deliveries/CPU-s': result.deliveriesPerCpuSecond,
});
const ratios = (name: string, result: Measured, base: Measured) => ({
  transport: name,
  'heap B/conn': ratio(result.heapPerConnection, base.heapPerConnection),
  'deliveries/s': ratio(result.deliveriesPerSecond, base.deliveriesPerSecond),
  'deliveries/CPU-s': ratio(result.deliveriesPerCpuSecond, base.deliveriesPerCpuSecond),
});
printTable(
  `tRPC onCallEvent vs bare tRPC vs bare SSE: ${connections} idle connections, ${eventsPerRound}-event rounds (median of ${rounds})`,
  [
    row('node:http SSE + bus (physical baseline)', baseline),
    row('bare tRPC v11 (tracked() off the bus)', bare),
    row('@calltrack/trpc (+ withNodeSseRetry)', trpc),
    ratios('ratio calltrack / bare tRPC', trpc, bare),
    ratios('ratio bare tRPC / node:http SSE', bare, baseline),
    ratios('ratio calltrack / node:http SSE', trpc, baseline),
  ],
);
process.exit(0);

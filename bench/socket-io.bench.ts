// Socket.IO with calltrack attached vs bare Socket.IO, in the same run:
// 1. heap per connected client (target: calltrack adds ≤ 1 KB per client), clients are the real
//    socket.io-client (websocket transport) in child processes;
// 2. fan-out of one event to every client: deliveries per second, calltrack (`bus.publish` →
//    tenant channel → room emit) vs a bare `io.to(room).emit` of the same payload, and the
//    server's CPU time per delivery.
// Run: node --import tsx --conditions=@calltrack/source --expose-gc bench/socket-io.bench.ts
// This file is also its own client process (`… socket-io.bench.ts client <url> <count> <mode>`).
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { attachCallTrack, type CallTrackSocketHandle } from '@calltrack/socket.io';
import { Server } from 'socket.io';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

// `… socket-io.bench.ts clients=2000 events=10 rounds=3` overrides the defaults.
const settings = Object.fromEntries(
  process.argv.slice(2).flatMap((argument) => {
    const [key, value] = argument.split('=');
    return value === undefined ? [] : [[key, Number(value)]];
  }),
);
const WANTED_CLIENTS = settings.clients ?? 3000;
// The server holds one descriptor per client (plus the loopback peer's, in the children).
const FD_LIMIT = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
const CLIENTS = Number.isFinite(FD_LIMIT)
  ? Math.min(WANTED_CLIENTS, FD_LIMIT - 200)
  : WANTED_CLIENTS;
const CHILDREN = 2;
const EVENTS = settings.events ?? 10;
const ROUNDS = settings.rounds ?? 3;
const TENANT = 'bench-tenant';

if (process.argv[2] === 'client') {
  await runClients();
} else {
  await main();
}

/** Child: opens `count` clients, reports `ready`, then `done` each time all got `expect` events. */
async function runClients(): Promise<void> {
  const { io } = await import('socket.io-client');
  const [url, countText, mode, offsetText] = process.argv.slice(3) as [
    string,
    string,
    'bare' | 'calltrack',
    string,
  ];
  const count = Number(countText);
  const offset = Number(offsetText);
  const eventName = mode === 'bare' ? 'bench' : 'call_update';
  let expected = Number.POSITIVE_INFINITY;
  let complete = 0;
  const received = new Array<number>(count).fill(0);
  const connectOne = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const socket = io(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        auth: { token: `${TENANT}:user-${offset + index}` },
      });
      socket.on(eventName, () => {
        received[index] = (received[index] ?? 0) + 1;
        if (received[index] === expected) {
          complete += 1;
          if (complete === count) process.stdout.write('done\n');
        }
      });
      socket.once('connect_error', reject);
      socket.once('connect', () => {
        if (mode === 'bare') {
          socket.emit('join', () => resolve());
        } else {
          socket.emit('subscribe_to_calls', {}, () => resolve());
        }
      });
    });
  for (let start = 0; start < count; start += 100) {
    const batch = [];
    for (let index = start; index < Math.min(count, start + 100); index += 1) {
      batch.push(connectOne(index));
    }
    await Promise.all(batch);
  }
  process.stdout.write('ready\n');
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.startsWith('expect ')) {
      expected = Number(line.slice('expect '.length));
      complete = 0;
      received.fill(0);
      process.stdout.write('armed\n');
    } else if (line === 'exit') {
      process.exit(0);
    }
  }
}

interface ClientProcess {
  child: ChildProcess;
  next(word: string): Promise<void>;
}

function spawnClients(url: string, count: number, mode: string, offset: number): ClientProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@calltrack/source',
      fileURLToPath(import.meta.url),
      'client',
      url,
      String(count),
      mode,
      String(offset),
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const waiters: { word: string; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const index = waiters.findIndex((waiter) => waiter.word === line);
    if (index !== -1) waiters.splice(index, 1)[0]!.resolve();
  });
  return {
    child,
    next: (word) => new Promise((resolve) => waiters.push({ word, resolve })),
  };
}

function heapUsed(): number {
  for (let index = 0; index < 4; index += 1) global.gc?.();
  return process.memoryUsage().heapUsed;
}

interface Phase {
  mode: 'bare' | 'calltrack';
  bytesPerClient: number;
  deliveriesPerSecond: number;
  serverMicrosPerDelivery: number;
}

async function runPhase(mode: 'bare' | 'calltrack', event: CallEvent): Promise<Phase> {
  const http: HttpServer = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  let bus: EventBus | undefined;
  let calltrack: CallTrackSocketHandle | undefined;
  const room = `tenant:${TENANT}`;
  if (mode === 'bare') {
    // The same work an app does by hand: check the token, join a room, answer with an ack.
    io.use((socket, next) => {
      const token = socket.handshake.auth.token;
      if (typeof token === 'string' && token.startsWith(`${TENANT}:`)) next();
      else next(new Error('Unauthorized'));
    });
    io.on('connection', (socket) => {
      socket.on('join', (ack: () => void) => {
        socket.join(room);
        ack();
      });
    });
  } else {
    bus = createMemoryBus();
    calltrack = attachCallTrack(io, {
      bus,
      authenticate: (handshake) => {
        const token = handshake.auth.token;
        if (typeof token !== 'string' || !token.startsWith(`${TENANT}:`)) return null;
        return { tenantId: TENANT, userId: token.slice(TENANT.length + 1) };
      },
    });
  }
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  // Heap per client as a slope: clients of the first child, then of the second, so one-time
  // costs (code warm-up, buffer pools, the tenant channel) stay out of the figure.
  const perChild = Math.ceil(CLIENTS / CHILDREN);
  const children: ClientProcess[] = [];
  const samples: { clients: number; heap: number }[] = [{ clients: 0, heap: heapUsed() }];
  for (let index = 0; index < CHILDREN; index += 1) {
    const child = spawnClients(url, perChild, mode, index * perChild);
    children.push(child);
    await child.next('ready');
    samples.push({ clients: io.of('/').sockets.size, heap: heapUsed() });
  }
  const connected = io.of('/').sockets.size;
  const first = samples[1]!;
  const last = samples.at(-1)!;
  const slope = (last.heap - first.heap) / (last.clients - first.clients);

  // Fan-out: EVENTS events, one at a time, each to every client; ROUNDS rounds, best one kept
  // (the machine is shared, so the best round is the least disturbed one).
  const payload = { cursor: '0:0', event };
  let bestRate = 0;
  let bestCpu = Number.POSITIVE_INFINITY;
  const deliveries = connected * EVENTS;
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const child of children) child.child.stdin?.write(`expect ${EVENTS}\n`);
    await Promise.all(children.map((child) => child.next('armed')));
    const done = Promise.all(children.map((child) => child.next('done')));
    const cpuStart = process.cpuUsage();
    const started = performance.now();
    for (let index = 0; index < EVENTS; index += 1) {
      if (mode === 'bare') {
        io.to(room).emit('bench', payload);
      } else {
        await bus!.publish({ ...event, id: `${event.id}:${round}:${index}` });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    const elapsed = performance.now() - started;
    const used = process.cpuUsage(cpuStart);
    bestRate = Math.max(bestRate, perSecond(deliveries, elapsed));
    bestCpu = Math.min(bestCpu, used.user + used.system);
  }

  for (const child of children) child.child.stdin?.write('exit\n');
  await Promise.all(
    children.map(
      (child) => new Promise<void>((resolve) => child.child.once('exit', () => resolve())),
    ),
  );
  await calltrack?.close();
  await new Promise<void>((resolve) => io.close(() => resolve()));
  await bus?.close();
  return {
    mode,
    bytesPerClient: Math.round(slope),
    deliveriesPerSecond: bestRate,
    serverMicrosPerDelivery: Math.round((bestCpu / deliveries) * 100) / 100,
  };
}

async function main(): Promise<void> {
  if (CLIENTS < WANTED_CLIENTS) {
    console.log(
      `note: ulimit -n is ${FD_LIMIT}, so ${CLIENTS} clients instead of ${WANTED_CLIENTS}`,
    );
  }
  const rows: Record<string, string | number>[] = [];
  for (const [label, type] of [
    ['call.transcript (call_update only)', 'call.transcript'],
    ['call.ringing (call_update + call:status_updated)', 'call.ringing'],
  ] as const) {
    const event = { ...benchEvent(1, TENANT), type };
    const bare = await runPhase('bare', event);
    const withCallTrack = await runPhase('calltrack', event);
    rows.push(
      {
        event: label,
        server: 'bare Socket.IO',
        'heap B/client': bare.bytesPerClient,
        'deliveries/s': bare.deliveriesPerSecond,
        'server µs CPU/delivery': bare.serverMicrosPerDelivery,
      },
      {
        event: label,
        server: 'with calltrack',
        'heap B/client': withCallTrack.bytesPerClient,
        'deliveries/s': withCallTrack.deliveriesPerSecond,
        'server µs CPU/delivery': withCallTrack.serverMicrosPerDelivery,
      },
    );
    console.log(
      `${label}: calltrack adds ${withCallTrack.bytesPerClient - bare.bytesPerClient} B heap per client; ` +
        `fan-out ratio (calltrack / bare deliveries per second) ${ratio(withCallTrack.deliveriesPerSecond, bare.deliveriesPerSecond)}; ` +
        `server CPU ratio ${ratio(withCallTrack.serverMicrosPerDelivery, bare.serverMicrosPerDelivery)}`,
    );
  }
  printTable(
    `Socket.IO: ${CLIENTS} clients (${CHILDREN} child processes), ${EVENTS} events per round, best of ${ROUNDS} rounds`,
    rows,
  );
}

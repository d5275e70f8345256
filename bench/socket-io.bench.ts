// Socket.IO with calltrack attached, in the same run as the two things it is measured against:
// - the peer: bare Socket.IO sending the very same packets by hand (`io.to(room).emit` of
//   `call_update`, plus the lifecycle companion `call:status_updated` for a `call.ringing`, so
//   the ratio compares equal work);
// - the physical baseline: raw `ws` (the WebSocket server Socket.IO itself runs on) sending the
//   same Engine.IO frames to the same number of sockets.
// Measured for each:
// 1. heap per connected client (target: calltrack adds ≤ 1 KB over bare Socket.IO); clients are
//    the real socket.io-client over WebSocket (raw `ws` clients for the baseline) in child
//    processes;
// 2. fan-out of one event to every client (the three servers run side by side, their rounds
//    interleaved, so the shared machine's load changes hit all three alike): events delivered per second (an event is one packet
//    per client, or two with a lifecycle companion; a delivery counts when the client has
//    received all of them) and the server's CPU time per delivered event.
// Run: node --import tsx --conditions=@calltrack/source --expose-gc bench/socket-io.bench.ts
// This file is also its own client process (`… socket-io.bench.ts client <url> <count> <mode>`).
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { createServer, type Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import type { CallEvent } from '@calltrack/core';
import { attachCallTrack, type CallTrackSocketHandle } from '@calltrack/socket.io';
// The raw baseline sends the lifecycle events attachCallTrack would.
import { lifecycleEventName } from '@calltrack/socket.io/internal';
import { Server } from 'socket.io';
import type * as WsModule from 'ws';
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
// The server holds one descriptor per client of each of the three servers it runs side by side.
const FD_LIMIT = Number(execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim());
const CLIENTS = Number.isFinite(FD_LIMIT)
  ? Math.min(WANTED_CLIENTS, Math.floor((FD_LIMIT - 200) / 3))
  : WANTED_CLIENTS;
const CHILDREN = 2;
const EVENTS = settings.events ?? 10;
const ROUNDS = settings.rounds ?? 5;
const TENANT = 'bench-tenant';

const modes = ['ws', 'bare', 'calltrack'] as const;
type Mode = (typeof modes)[number];

const eventTypes = [
  ['call.transcript (call_update only)', 'call.transcript'],
  ['call.ringing (call_update + call:status_updated)', 'call.ringing'],
] as const;

/** The `ws` build Socket.IO runs on (engine.io's own dependency): the physical baseline. */
function loadWs(): typeof WsModule {
  const require = createRequire(import.meta.url);
  const fromEngine = createRequire(require.resolve('engine.io'));
  return fromEngine('ws') as typeof WsModule;
}

if (process.argv[2] === 'client') {
  await runClients();
} else {
  await main();
}

/**
 * Child: opens `count` clients, reports `ready`, then, after `expect <packets>`, `done` once
 * every client has received that many packets.
 */
async function runClients(): Promise<void> {
  const [url, countText, mode, offsetText] = process.argv.slice(3) as [
    string,
    string,
    Mode,
    string,
  ];
  const count = Number(countText);
  const offset = Number(offsetText);
  let expected = Number.POSITIVE_INFINITY;
  let complete = 0;
  const received = new Array<number>(count).fill(0);
  const onPacket = (index: number): void => {
    received[index] = (received[index] ?? 0) + 1;
    if (received[index] === expected) {
      complete += 1;
      if (complete === count) process.stdout.write('done\n');
    }
  };

  let connectOne: (index: number) => Promise<void>;
  if (mode === 'ws') {
    const { WebSocket } = loadWs();
    connectOne = (index) =>
      new Promise<void>((resolve, reject) => {
        const socket = new WebSocket(url, { perMessageDeflate: false });
        socket.on('message', () => onPacket(index));
        socket.once('error', reject);
        socket.once('open', () => resolve());
      });
  } else {
    const { io } = await import('socket.io-client');
    connectOne = (index) =>
      new Promise<void>((resolve, reject) => {
        const socket = io(url, {
          transports: ['websocket'],
          forceNew: true,
          reconnection: false,
          auth: { token: `${TENANT}:user-${offset + index}` },
        });
        socket.onAny(() => onPacket(index));
        socket.once('connect_error', reject);
        socket.once('connect', () => {
          if (mode === 'bare') socket.emit('join', () => resolve());
          else socket.emit('subscribe_to_calls', {}, () => resolve());
        });
      });
  }
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

function spawnClients(url: string, count: number, mode: Mode, offset: number): ClientProcess {
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

interface FanOut {
  deliveriesPerSecond: number;
  serverMicrosPerDelivery: number;
}

interface Phase {
  bytesPerClient: number;
  /** One per entry of `eventTypes`. */
  fanOut: FanOut[];
}

/** What each mode does to send one event to every client. */
interface Sender {
  /** Sends the event (round `round`, index `index`) to every client. */
  send(event: CallEvent, round: number, index: number): Promise<void> | void;
  close(): Promise<void>;
}

function startSender(mode: Mode, http: HttpServer): { sender: Sender; clients: () => number } {
  const room = `tenant:${TENANT}`;
  if (mode === 'ws') {
    const { WebSocketServer } = loadWs();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    return {
      clients: () => wss.clients.size,
      sender: {
        send(event) {
          // Exactly the frames Socket.IO writes: Engine.IO "4" (message) + Socket.IO "2" (event).
          const payload = { cursor: '0:0', event };
          const lifecycle = lifecycleEventName(event);
          const names = lifecycle === undefined ? ['call_update'] : ['call_update', lifecycle];
          for (const name of names) {
            const frame = Buffer.from(`42${JSON.stringify([name, payload])}`);
            for (const socket of wss.clients) socket.send(frame, { binary: false });
          }
        },
        close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
      },
    };
  }
  const io = new Server(http, { transports: ['websocket'] });
  const clients = () => io.of('/').sockets.size;
  const closeIo = () => new Promise<void>((resolve) => io.close(() => resolve()));
  if (mode === 'bare') {
    // The same work an app does by hand: check the token, join a room, answer with an ack, and
    // send the same packets calltrack sends.
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
    return {
      clients,
      sender: {
        send(event) {
          const payload = { cursor: '0:0', event };
          io.to(room).emit('call_update', payload);
          const lifecycle = lifecycleEventName(event);
          if (lifecycle !== undefined) io.to(room).emit(lifecycle, payload);
        },
        close: closeIo,
      },
    };
  }
  const bus: EventBus = createMemoryBus();
  const calltrack: CallTrackSocketHandle = attachCallTrack(io, {
    bus,
    authenticate: (handshake) => {
      const token = handshake.auth.token;
      if (typeof token !== 'string' || !token.startsWith(`${TENANT}:`)) return null;
      return { tenantId: TENANT, userId: token.slice(TENANT.length + 1) };
    },
  });
  return {
    clients,
    sender: {
      async send(event, round, index) {
        // Unique per type, round and index: the bus drops a repeated id as a duplicate.
        await bus.publish({ ...event, id: `${event.id}:${event.type}:${round}:${index}` });
      },
      async close() {
        await calltrack.close();
        await closeIo();
        await bus.close();
      },
    },
  };
}

/** A server of one mode with its clients connected, ready to run fan-out rounds. */
interface RunningPhase {
  bytesPerClient: number;
  /** Runs one round of EVENTS events of `type`; returns the elapsed ms and server CPU µs. */
  round(type: string, round: number): Promise<{ elapsed: number; cpu: number }>;
  connected: number;
  stop(): Promise<void>;
}

async function startPhase(mode: Mode): Promise<RunningPhase> {
  const http: HttpServer = createServer();
  const { sender, clients } = startSender(mode, http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  const url = mode === 'ws' ? `ws://127.0.0.1:${port}` : `http://127.0.0.1:${port}`;

  // Heap per client as a slope: clients of the first child, then of the second, so one-time
  // costs (code warm-up, buffer pools, the tenant channel) stay out of the figure.
  const perChild = Math.ceil(CLIENTS / CHILDREN);
  const children: ClientProcess[] = [];
  const samples: { clients: number; heap: number }[] = [{ clients: 0, heap: heapUsed() }];
  for (let index = 0; index < CHILDREN; index += 1) {
    const child = spawnClients(url, perChild, mode, index * perChild);
    children.push(child);
    await child.next('ready');
    samples.push({ clients: clients(), heap: heapUsed() });
  }
  const first = samples[1]!;
  const last = samples.at(-1)!;
  const slope = (last.heap - first.heap) / (last.clients - first.clients);

  return {
    bytesPerClient: Math.round(slope),
    connected: clients(),
    async round(type, round) {
      const event = { ...benchEvent(1, TENANT), type };
      const packets = lifecycleEventName(event) === undefined ? 1 : 2;
      for (const child of children) child.child.stdin?.write(`expect ${EVENTS * packets}\n`);
      await Promise.all(children.map((child) => child.next('armed')));
      const done = Promise.all(children.map((child) => child.next('done')));
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      for (let index = 0; index < EVENTS; index += 1) {
        await sender.send(event, round, index);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await done;
      const used = process.cpuUsage(cpuStart);
      return { elapsed: performance.now() - started, cpu: used.user + used.system };
    },
    async stop() {
      for (const child of children) child.child.stdin?.write('exit\n');
      await Promise.all(
        children.map(
          (child) => new Promise<void>((resolve) => child.child.once('exit', () => resolve())),
        ),
      );
      await sender.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/**
 * Starts the three servers with their clients, then runs the fan-out rounds interleaved (one
 * round of each mode in turn), so a load change on the shared machine hits all three alike;
 * the best round of each mode is kept.
 */
async function measure(): Promise<Record<Mode, Phase>> {
  const running = {} as Record<Mode, RunningPhase>;
  for (const mode of modes) running[mode] = await startPhase(mode);
  const phases = {} as Record<Mode, Phase>;
  for (const mode of modes)
    phases[mode] = { bytesPerClient: running[mode].bytesPerClient, fanOut: [] };
  for (const [, type] of eventTypes) {
    const best = Object.fromEntries(
      modes.map((mode) => [
        mode,
        { elapsed: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY },
      ]),
    ) as Record<Mode, { elapsed: number; cpu: number }>;
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const mode of modes) {
        const result = await running[mode].round(type, round);
        best[mode].elapsed = Math.min(best[mode].elapsed, result.elapsed);
        best[mode].cpu = Math.min(best[mode].cpu, result.cpu);
      }
    }
    for (const mode of modes) {
      const deliveries = running[mode].connected * EVENTS;
      phases[mode].fanOut.push({
        deliveriesPerSecond: perSecond(deliveries, best[mode].elapsed),
        serverMicrosPerDelivery: Math.round((best[mode].cpu / deliveries) * 100) / 100,
      });
    }
  }
  for (const mode of modes) await running[mode].stop();
  return phases;
}

async function main(): Promise<void> {
  if (CLIENTS < WANTED_CLIENTS) {
    console.log(
      `note: ulimit -n is ${FD_LIMIT}, so ${CLIENTS} clients instead of ${WANTED_CLIENTS}`,
    );
  }
  const names: Record<Mode, string> = {
    ws: 'raw ws (same frames)',
    bare: 'bare Socket.IO (same packets)',
    calltrack: 'with calltrack',
  };
  const phases = await measure();
  const rows: Record<string, string | number>[] = [];
  for (const [index, [label]] of eventTypes.entries()) {
    for (const mode of modes) {
      const phase = phases[mode];
      const fanOut = phase.fanOut[index]!;
      rows.push({
        event: label,
        server: names[mode],
        'heap B/client': phase.bytesPerClient,
        'deliveries/s': fanOut.deliveriesPerSecond,
        'server µs CPU/delivery': fanOut.serverMicrosPerDelivery,
      });
    }
    const bare = phases.bare.fanOut[index]!;
    const ws = phases.ws.fanOut[index]!;
    const withCallTrack = phases.calltrack.fanOut[index]!;
    console.log(
      `${label}: fan-out calltrack / bare Socket.IO ${ratio(withCallTrack.deliveriesPerSecond, bare.deliveriesPerSecond)} ` +
        `(server CPU per delivery ${ratio(withCallTrack.serverMicrosPerDelivery, bare.serverMicrosPerDelivery)}×); ` +
        `calltrack / raw ws ${ratio(withCallTrack.deliveriesPerSecond, ws.deliveriesPerSecond)}; ` +
        `bare Socket.IO / raw ws ${ratio(bare.deliveriesPerSecond, ws.deliveriesPerSecond)}`,
    );
  }
  console.log(
    `heap per client: calltrack adds ${phases.calltrack.bytesPerClient - phases.bare.bytesPerClient} B over bare Socket.IO; ` +
      `bare Socket.IO adds ${phases.bare.bytesPerClient - phases.ws.bytesPerClient} B over raw ws`,
  );
  printTable(
    `Socket.IO: ${CLIENTS} clients (${CHILDREN} child processes), ${EVENTS} events per round, best of ${ROUNDS} interleaved rounds`,
    rows,
  );
}

// SSE fan-out: one event to 1,000 and 10,000 held SSE connections, through createSseNodeHandler
// (frames written straight to the ServerResponse) and through createSseHandler + toNodeHandler
// (web ReadableStream), against a raw `res.write` loop over the same number of held node:http
// responses (the physical baseline, and what a user would otherwise write), measured in the same
// run. A fourth row holds bare web ReadableStreams behind the same toNodeHandler bridge, with
// nothing of calltrack: the floor of the fetch-handler path on Node. Also: heap per idle
// connection, publish→receive latency.
//
// A delivery counts when the client has received the frame: clients are raw TCP sockets speaking
// HTTP/1.1 in a child process (this file, run with `clients`), which reports when every socket
// has seen the round's event id. Throughput = clients / (last receipt − publish).
//
// Each server runs in a fresh process of its own (this file, run with `server <index>`): in one
// shared process, whichever server ran first left node:http's write path optimized (and the heap
// shaped) for itself, and a later one paid 25–40% more CPU in Node's own write path for the very
// same writes (CPU profiles of raw-first and calltrack-first runs). The servers hold their
// clients at the same time and take turns round by round (the first of each turn rotating), so
// every ratio compares rounds taken seconds apart under the same machine load, not minutes apart.
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const now = (): number => performance.timeOrigin + performance.now();
/** The servers compared (listed in `runServer`), the raw loop first. */
const targetCount = 4;

if (process.argv[2] === 'clients') {
  await runClients();
} else if (process.argv[2] === 'server') {
  await runServer(Number(process.argv[3]));
} else {
  await runBench();
}

// ---------------------------------------------------------------------------------------------
// Child: holds the sockets. Commands on stdin, one per line:
//   open <port> <path> <count> <localAddress>  → opens sockets, answers "opened <total>"
//   expect <marker>                            → answers "armed"; then "done <times…>" once
//                                                every socket has received the marker
//   close                                      → destroys every socket, answers "closed"
async function runClients(): Promise<void> {
  let sockets: Socket[] = [];
  let marker: Buffer | undefined;
  let received = 0;
  let times: Float64Array = new Float64Array(0);
  let roundNumber = 0;
  const got = new WeakMap<Socket, number>();
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };

  const onData = (socket: Socket, chunk: Buffer): void => {
    if (marker === undefined || got.get(socket) === roundNumber || chunk.indexOf(marker) === -1) {
      return;
    }
    got.set(socket, roundNumber);
    times[received] = now();
    received += 1;
    if (received === sockets.length) {
      marker = undefined;
      const sorted = Array.from(times).sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      say(`done ${at(0)} ${at(0.5)} ${at(0.99)} ${sorted.at(-1)}`);
    }
  };

  const open = (port: number, path: string, count: number, localAddress: string) => {
    let pending = count;
    for (let index = 0; index < count; index += 1) {
      const socket = connect({ port, host: '127.0.0.1', localAddress });
      socket.setNoDelay(true);
      let headers = false;
      socket.on('data', (chunk: Buffer) => {
        if (!headers) {
          headers = true;
          if (!chunk.subarray(0, 12).toString().includes(' 200')) {
            console.error('unexpected answer', chunk.toString().slice(0, 200));
            process.exit(1);
          }
          pending -= 1;
          if (pending === 0) say(`opened ${sockets.length}`);
          return;
        }
        onData(socket, chunk);
      });
      socket.on('error', (error) => {
        console.error('client socket error', error.message);
        process.exit(1);
      });
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench-tenant:u${index}\r\n` +
          'Accept: text/event-stream\r\n\r\n',
      );
      sockets.push(socket);
    }
  };

  for await (const line of createInterface({ input: process.stdin })) {
    const [command, ...args] = line.split(' ');
    if (command === 'open') {
      open(Number(args[0]), args[1]!, Number(args[2]), args[3]!);
    } else if (command === 'expect') {
      marker = Buffer.from(args[0]!);
      roundNumber += 1;
      received = 0;
      times = new Float64Array(sockets.length);
      say('armed');
    } else if (command === 'close') {
      for (const socket of sockets) socket.destroy();
      sockets = [];
      say('closed');
    }
  }
}

// ---------------------------------------------------------------------------------------------
/** One round of one server, as its process reports it. */
interface Round {
  deliveriesPerSecond: number;
  /** Deliveries per second of this process's own CPU time: moves less with the machine's load. */
  deliveriesPerCpuSecond: number;
  p50: number;
  p99: number;
}

// ---------------------------------------------------------------------------------------------
// Parent: starts the servers, each in its own process, and runs their rounds in turns.
async function runBench(): Promise<void> {
  const { printTable, ratio } = await import('./lib/report');
  const started = performance.now();

  const limit = Number(execSync('ulimit -n', { shell: '/bin/bash' }).toString().trim());
  let large = 10_000;
  if (limit < large + 200) {
    large = Math.max(1000, Math.floor((limit - 200) / 1000) * 1000);
    console.log(`note: ulimit -n is ${limit}; the large case uses ${large} connections`);
  }
  const small = 1000;
  const rounds = { small: 9, large: 9 };

  const servers = Array.from({ length: targetCount }, (_, index) => {
    const process_ = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), 'server', String(index)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const waiting: ((line: string) => void)[] = [];
    createInterface({ input: process_.stdout! }).on('line', (line) => waiting.shift()?.(line));
    const ask = (command: string): Promise<string> =>
      new Promise((resolve) => {
        waiting.push(resolve);
        process_.stdin!.write(`${command}\n`);
      });
    return { ask, heapSmall: 0, heapLarge: 0, small: [] as Round[], large: [] as Round[] };
  });
  const names = await Promise.all(servers.map((server) => server.ask('name')));

  /** One round on every server, one after another, starting with a different one each time. */
  const turn = async (count: number, clients: number, keep?: 'small' | 'large') => {
    for (let offset = 0; offset < servers.length; offset += 1) {
      const server = servers[(count + offset) % servers.length]!;
      const round = JSON.parse(await server.ask(`round ${clients}`)) as Round;
      if (keep) server[keep].push(round);
    }
  };
  for (const server of servers) server.heapSmall = Number(await server.ask(`open ${small}`));
  for (let count = 0; count < 2; count += 1) await turn(count, small);
  for (let count = 0; count < rounds.small; count += 1) await turn(count, small, 'small');
  for (const server of servers) {
    server.heapLarge = Number(await server.ask(`open ${large - small}`));
  }
  await turn(0, large);
  for (let count = 0; count < rounds.large; count += 1) await turn(count, large, 'large');
  await Promise.all(servers.map((server) => server.ask('stop')));

  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  const pick = (list: Round[]): Round => ({
    deliveriesPerSecond: median(list.map((entry) => entry.deliveriesPerSecond)),
    deliveriesPerCpuSecond: median(list.map((entry) => entry.deliveriesPerCpuSecond)),
    p50: median(list.map((entry) => entry.p50)),
    p99: median(list.map((entry) => entry.p99)),
  });
  const results = servers.map((server, index) => ({
    name: names[index]!,
    small: pick(server.small),
    large: pick(server.large),
    heapPerClient: (server.heapLarge - server.heapSmall) / (large - small),
  }));

  const baseline = results[0]!;
  const kb = (bytes: number) => Math.round(bytes / 102.4) / 10;
  printTable(
    `SSE fan-out of one event (delivery = the client received the frame; median of ${rounds.small}/${rounds.large} rounds)`,
    results.map((result) => ({
      server: result.name,
      [`${small} clients: deliveries/s`]: Math.round(result.small.deliveriesPerSecond),
      [`${small}: vs raw`]: ratio(
        result.small.deliveriesPerSecond,
        baseline.small.deliveriesPerSecond,
      ),
      [`${large} clients: deliveries/s`]: Math.round(result.large.deliveriesPerSecond),
      [`${large}: vs raw`]: ratio(
        result.large.deliveriesPerSecond,
        baseline.large.deliveriesPerSecond,
      ),
      [`${large}: per CPU-s`]: Math.round(result.large.deliveriesPerCpuSecond),
      [`${large}: CPU vs raw`]: ratio(
        result.large.deliveriesPerCpuSecond,
        baseline.large.deliveriesPerCpuSecond,
      ),
    })),
  );
  printTable(
    `Publish → receive latency at ${small} clients (ms, all clients of a round)`,
    results.map((result) => ({
      server: result.name,
      p50: Math.round(result.small.p50 * 100) / 100,
      p99: Math.round(result.small.p99 * 100) / 100,
      [`p99 at ${large}`]: Math.round(result.large.p99 * 100) / 100,
    })),
  );
  printTable(
    'Heap per idle connection (KB, forced gc; the raw row is a bare held node:http response)',
    results.map((result) => ({
      server: result.name,
      [`KB/conn (${small}→${large})`]: kb(result.heapPerClient),
      'vs raw': ratio(result.heapPerClient, baseline.heapPerClient),
    })),
  );
  console.log(`\ntotal ${Math.round((performance.now() - started) / 1000)} s`);
}

// ---------------------------------------------------------------------------------------------
// One server under test (`targetIndex` in the list below), with its own client process. Commands
// on stdin, one answer line each: `name`; `open <count>` (more clients, then the heap after a
// forced gc); `round <clients>` (one event fanned out: a Round as JSON); `stop`.
async function runServer(targetIndex: number): Promise<void> {
  const { createMemoryBus } = await import('@calltrack/bus');
  const { toNodeHandler } = await import('@calltrack/core/node');
  const { createSseHandler, createSseNodeHandler } = await import('@calltrack/sse');
  const { benchEvent } = await import('./lib/bench-event');

  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('Run with --expose-gc.');
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  // The child that holds the client sockets.
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'clients'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => {
    waiting.shift()?.(line);
  });
  const ask = (command: string): Promise<string> =>
    new Promise((resolve) => {
      waiting.push(resolve);
      child.stdin!.write(`${command}\n`);
    });

  // One source address and run id per server, as when they shared a process.
  const loopback = targetIndex + 2;
  const runId = targetIndex + 1;

  interface Target {
    name: string;
    /** Starts a server; returns its port, the fan-out of one round, and a stop. */
    start(): Promise<{ port: number; publish(index: number): void; stop(): Promise<void> }>;
  }

  const sseFrame = (index: number) => {
    const event = benchEvent(index, 'bench-tenant', `raw${runId}`);
    return {
      event,
      // The frame calltrack writes for it (JSON holds no line break: one `data:` line).
      bytes: Buffer.from(`id: e:${index}\nevent: call\ndata: ${JSON.stringify(event)}\n\n`),
    };
  };

  const listen = async (server: Server): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const stopServer = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });

  const raw: Target = {
    name: 'raw res.write loop',
    async start() {
      const held = new Set<ServerResponse>();
      const server = createServer((_request, response) => {
        response.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
          connection: 'keep-alive',
        });
        response.write(': ok\n\n');
        held.add(response);
        response.once('close', () => held.delete(response));
      });
      return {
        port: await listen(server),
        publish(index) {
          const { bytes } = sseFrame(index);
          for (const response of held) response.write(bytes);
        },
        stop: () => stopServer(server),
      };
    },
  };

  const bridgeFloor: Target = {
    name: 'ReadableStream + toNodeHandler (no calltrack)',
    async start() {
      const held = new Set<ReadableStreamDefaultController<Uint8Array>>();
      const listener = toNodeHandler(
        async () =>
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                controller.enqueue(new TextEncoder().encode(': ok\n\n'));
                held.add(controller);
              },
              cancel() {
                // The controller stays in `held` only while its stream is open.
              },
            }),
            { headers: { 'content-type': 'text/event-stream' } },
          ),
      );
      const server = createServer((request, response) => void listener(request, response));
      return {
        port: await listen(server),
        publish(index) {
          const { bytes } = sseFrame(index);
          for (const controller of held) controller.enqueue(bytes);
        },
        stop: () => stopServer(server),
      };
    },
  };

  const sse = (name: string, kind: 'node' | 'fetch'): Target => ({
    name,
    async start() {
      const bus = createMemoryBus({ history: { maxEvents: 100 } });
      const options = {
        bus,
        keepAliveMs: 0,
        authenticate: (request: Request) => {
          const match = /^Bearer ([^:]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
          return match ? { tenantId: match[1]!, userId: match[2]! } : null;
        },
      };
      const listener =
        kind === 'node' ? createSseNodeHandler(options) : toNodeHandler(createSseHandler(options));
      const server = createServer((request, response) => void listener(request, response));
      return {
        port: await listen(server),
        publish(index) {
          void bus.publish(benchEvent(index, 'bench-tenant', `sse${runId}`));
        },
        stop: async () => {
          await bus.close();
          await stopServer(server);
        },
      };
    },
  });

  const markerOf = (index: number, prefix: string): string =>
    benchEvent(index, 'bench-tenant', `${prefix}${runId}`).id;

  const round = async (
    target: Awaited<ReturnType<Target['start']>>,
    index: number,
    prefix: string,
    clients: number,
  ): Promise<Round> => {
    await ask(`expect ${markerOf(index, prefix)}`);
    const done = new Promise<string>((resolve) => waiting.push(resolve));
    const cpu = process.cpuUsage();
    const started = now();
    target.publish(index);
    const [, first, p50, p99, last] = (await done).split(' ').map(Number) as number[];
    const used = process.cpuUsage(cpu);
    void first;
    return {
      deliveriesPerSecond: clients / ((last! - started) / 1000),
      deliveriesPerCpuSecond: clients / ((used.user + used.system) / 1e6),
      p50: p50! - started,
      p99: p99! - started,
    };
  };

  const targets = [
    raw,
    sse('createSseNodeHandler', 'node'),
    sse('createSseHandler + toNodeHandler', 'fetch'),
    bridgeFloor,
  ];
  const target = targets[targetIndex];
  if (target === undefined || targets.length !== targetCount) throw new Error('no such server');
  const prefix = target === raw || target === bridgeFloor ? 'raw' : 'sse';
  const server = await target.start();
  let index = 0;
  const answer = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, argument] = line.split(' ');
    if (command === 'name') {
      answer(target.name);
    } else if (command === 'open') {
      await ask(`open ${server.port} /events ${argument} 127.0.0.${loopback}`);
      answer(String(heap()));
    } else if (command === 'round') {
      answer(JSON.stringify(await round(server, index++, prefix, Number(argument))));
    } else if (command === 'stop') {
      await ask('close');
      child.stdin!.end();
      await server.stop();
      answer('stopped');
      break;
    }
  }
  process.exit(0);
}

// Heap per SSE connection with presence, over the transport's own, measured in one run:
// createSseNodeHandler holding idle connections (call events only, so no members snapshot) without
// presence, with presence on a Redis store (only the connection handle lives in this process),
// and with presence on the memory store (handle and state both here). The client sockets live
// in a child process (bench/sse.bench.ts's `clients` mode), so the server's heap is all that is
// counted. Presence publishes nowhere: only memory is measured, not n² presence.online fan-out.
// Run through bench/run.ts, or alone:
//   node --import tsx --conditions=@calltrack/source --expose-gc bench/sse-presence.bench.ts
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import type { ConnectionPresence, EventSink, Principal } from '@calltrack/core';
import { createMemoryPresenceStore, createPresence, type Presence } from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { createSseNodeHandler } from '@calltrack/sse';
import { startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { printTable } from './lib/report';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with --expose-gc (bench/run.ts does).');
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const count = Number(process.env.BENCH_COUNT ?? 2000);
/**
 * Streams of call events only: no members snapshot, whose size grows with the tenant (2,000
 * users × 2,000 streams would measure the snapshots in flight, not the connections).
 */
const path = '/events?types=call.*';
const nowhere: EventSink = { publish: async () => ({ duplicate: false }) };
/** `Bearer <tenant>:<user>`, as the client child sends it. */
const authenticate = (request: Request): Principal | null => {
  const match = /^Bearer ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  return match ? { tenantId: match[1]!, userId: match[2]! } : null;
};

const child: ChildProcess = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('./sse.bench.ts', import.meta.url)), 'clients'],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: child.stdout! });
const waiting: ((line: string) => void)[] = [];
lines.on('line', (line) => waiting.shift()?.(line));
const ask = (command: string): Promise<string> =>
  new Promise((resolve) => {
    waiting.push(resolve);
    child.stdin!.write(`${command}\n`);
  });

/** Heap per connection of `count` idle streams of a handler with `presence` (or none). */
async function perConnection(presence: ConnectionPresence | undefined): Promise<number> {
  const bus = createMemoryBus();
  const server: Server = createServer(
    createSseNodeHandler({ bus, authenticate, ...(presence ? { presence } : {}) }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // One connection first, so channels, timers and code paths exist before the baseline.
  await ask(`open ${port} ${path} 1 127.0.0.1`);
  await ask('close');
  const before = heap();
  await ask(`open ${port} ${path} ${count} 127.0.0.1`);
  const after = heap();
  await ask('close');
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  await bus.close();
  // The streams' presence disconnects run after their sockets close: let them finish.
  await new Promise((resolve) => setTimeout(resolve, 500));
  return (after - before) / count;
}

const presenceOn = (store: Parameters<typeof createPresence>[0]['store']): Presence =>
  createPresence({ bus: nowhere, store, autoHeartbeat: false, logger: {} });

const rows: Record<string, string>[] = [];
const bytes = (value: number) => `${Math.round(value).toLocaleString('en-US')} B`;
try {
  const plain = await perConnection(undefined);
  rows.push({
    handler: 'createSseNodeHandler, no presence',
    'heap / connection': bytes(plain),
    'above the transport': '',
  });

  const memory = presenceOn(createMemoryPresenceStore());
  const withMemory = await perConnection(memory);
  await memory.stop();
  rows.push({
    handler: 'with presence, memory store (handle + state here)',
    'heap / connection': bytes(withMemory),
    'above the transport': bytes(withMemory - plain),
  });

  let redisServer: Awaited<ReturnType<typeof startRedisServer>> | undefined;
  try {
    redisServer = await startRedisServer();
  } catch (error) {
    rows.push({
      handler: 'with presence, Redis store',
      'heap / connection': `skipped: ${String(error).slice(0, 50)}`,
      'above the transport': '',
    });
  }
  if (redisServer) {
    const redis = new Redis(redisServer.url);
    const onRedis = presenceOn(createRedisPresenceStore({ redis, prefix: 'bench' }));
    const withRedis = await perConnection(onRedis);
    await onRedis.stop();
    redis.disconnect();
    await redisServer.stop();
    rows.push({
      handler: 'with presence, Redis store (handle here)',
      'heap / connection': bytes(withRedis),
      'above the transport': bytes(withRedis - plain),
    });
  }
  printTable(
    `Heap per idle SSE connection, ${count.toLocaleString('en-US')} connections (target: ≤ 500 B above the transport)`,
    rows,
  );
} finally {
  child.kill();
}

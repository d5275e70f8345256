// Presence benchmark, every figure next to its baseline from the same run:
// - heartbeats per second on Redis against raw `SET key EX` (the seed design's heartbeat) with the
//   same number of commands in flight on one client (ioredis pipelines them);
// - Redis bytes per connected user and per extra connection, against the seed's layout
//   (`SADD online:{tenant} user` + `SET presence:{tenant}:{user} ts EX 300`);
// - heap per connection held in this process: the handle alone (Redis store), and handle + state
//   (memory store);
// - 10,000 connects then 10,000 disconnects, against the seed's SADD+SET / SREM+DEL.
// Run through bench/run.ts, or alone:
//   node --import tsx --conditions=@calltrack/source --expose-gc bench/presence.bench.ts
// Redis figures use a redis-server of their own (started here); skipped without redis-server.
import type { EventSink } from '@calltrack/core';
import {
  createMemoryPresenceStore,
  createPresence,
  type Presence,
  type PresenceConnection,
  type PresenceStore,
} from '@calltrack/presence';
import { createRedisPresenceStore } from '@calltrack/presence/redis';
import { startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with --expose-gc (bench/run.ts does).');

const count = Number(process.env.BENCH_COUNT ?? 10_000);
const tenants = 10;
const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
const rate = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;
const bytes = (value: number) => `${Math.round(value).toLocaleString('en-US')} B`;
/** Publishing is not what is measured here: events go nowhere. */
const nowhere: EventSink = { publish: async () => ({ duplicate: false }) };

/** Runs `total` calls of `task(index)` with `concurrency` in flight; returns calls per second. */
async function throughput(
  total: number,
  concurrency: number,
  task: (index: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const index = next;
        next += 1;
        await task(index);
      }
    }),
  );
  return total / (Number(process.hrtime.bigint() - started) / 1e9);
}

const presenceOn = (store: PresenceStore): Presence =>
  createPresence({ bus: nowhere, store, autoHeartbeat: false, logger: {} });

async function connectAll(
  presence: Presence,
  users: number,
  perUser: number,
  concurrency: number,
  run: string,
): Promise<PresenceConnection[]> {
  const connections: PresenceConnection[] = new Array(users * perUser);
  await throughput(users * perUser, concurrency, async (index) => {
    const user = index % users;
    connections[index] = await presence.connect({
      tenantId: `tenant-${user % tenants}`,
      userId: `agent-${run}-${String(user).padStart(6, '0')}`,
      connectionId: `${run}-${String(index).padStart(8, '0')}`,
    });
  });
  return connections;
}

const heapUsed = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

// ---- heap per connection in this process ---------------------------------------------------
{
  // Memory store: the handle and the state the store keeps for it.
  const memory = presenceOn(createMemoryPresenceStore());
  await connectAll(memory, 500, 1, 1, 'warm');
  const before = heapUsed();
  const held = await connectAll(memory, count, 1, 1, 'heap');
  const after = heapUsed();
  row(
    'heap per connection: memory store (handle + state)',
    `${held.length} users × 1`,
    '',
    '',
    bytes((after - before) / held.length),
  );
}

// ---- Redis ---------------------------------------------------------------------------------
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
try {
  server = await startRedisServer();
} catch (error) {
  row('redis', 'skipped: redis-server not available', String(error).slice(0, 60), '', '');
}
if (server) {
  const redis = new Redis(server.url);
  try {
    const usedMemory = async () =>
      Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);

    // Heap: the handle alone (the state is in Redis).
    {
      const presence = presenceOn(createRedisPresenceStore({ redis, prefix: 'heap' }));
      await connectAll(presence, 500, 1, 32, 'warm');
      const before = heapUsed();
      const held = await connectAll(presence, count, 1, 32, 'heap');
      const after = heapUsed();
      row(
        'heap per connection: Redis store (the handle alone)',
        `${held.length} users × 1`,
        '',
        '',
        bytes((after - before) / held.length),
      );
      await redis.flushall();
    }

    // Heartbeats per second against raw SET EX, same commands in flight.
    {
      const users = 2000;
      const beats = Math.max(count * 2, 20_000);
      const presence = presenceOn(createRedisPresenceStore({ redis, prefix: 'beat' }));
      const connections = await connectAll(presence, users, 1, 32, 'b');
      for (const concurrency of [1, 32, 256]) {
        // Warm-up of both paths.
        await throughput(2000, concurrency, (index) => connections[index % users]!.heartbeat());
        await throughput(2000, concurrency, (index) =>
          redis.set(
            `seed:presence:{tenant-${index % tenants}}:${index % users}`,
            Date.now(),
            'EX',
            300,
          ),
        );
        // Best of three alternating rounds each: the machine is shared, single runs swing.
        let raw = 0;
        let heartbeats = 0;
        for (let round = 0; round < 3; round += 1) {
          const set = (index: number) =>
            redis.set(
              `seed:presence:{tenant-${index % tenants}}:${index % users}`,
              Date.now(),
              'EX',
              300,
            );
          raw = Math.max(raw, await throughput(beats, concurrency, set));
          heartbeats = Math.max(
            heartbeats,
            await throughput(beats, concurrency, (index) =>
              connections[index % users]!.heartbeat(),
            ),
          );
        }
        row(
          `heartbeats, ${concurrency} in flight`,
          `${beats} beats, ${users} users, best of 3`,
          rate(raw),
          rate(heartbeats),
          ratio(heartbeats, raw),
        );
      }
      await redis.flushall();
    }

    // Redis bytes per user and per extra connection, against the seed layout.
    {
      const users = count;
      const base = await usedMemory();
      const presence = presenceOn(createRedisPresenceStore({ redis, prefix: 'mem' }));
      await connectAll(presence, users, 1, 32, 'm');
      const oneEach = await usedMemory();
      await connectAll(presence, users, 2, 32, 'm2'); // users of their own, with 2 connections
      const twoEach = await usedMemory();
      await redis.flushall();
      const seedBase = await usedMemory();
      await throughput(users, 32, async (index) => {
        const tenant = `tenant-${index % tenants}`;
        const user = `agent-s-${String(index).padStart(6, '0')}`;
        await redis.sadd(`online:{${tenant}}`, user);
        await redis.set(`presence:{${tenant}}:${user}`, Date.now(), 'EX', 300);
      });
      const seed = await usedMemory();
      const perUser = (oneEach - base) / users;
      const perUserTwo = (twoEach - oneEach) / users;
      const seedPerUser = (seed - seedBase) / users;
      row(
        'redis bytes per connected user (1 connection)',
        `${users} users`,
        bytes(seedPerUser),
        bytes(perUser),
        ratio(perUser, seedPerUser),
      );
      row(
        'redis bytes per extra connection of a user',
        `${users} users × 2`,
        'n/a (one key per user)',
        bytes(perUserTwo - perUser),
        '',
      );
      await redis.flushall();
    }

    // 10,000 connects then 10,000 disconnects, against the seed's commands.
    for (const concurrency of [1, 32]) {
      const presence = presenceOn(createRedisPresenceStore({ redis, prefix: `cd${concurrency}` }));
      const started = process.hrtime.bigint();
      const connections = await connectAll(presence, count, 1, concurrency, `cd${concurrency}`);
      const connected = process.hrtime.bigint();
      await throughput(count, concurrency, (index) =>
        connections[index]!.disconnect({ immediate: true }),
      );
      const done = process.hrtime.bigint();
      const seedStarted = process.hrtime.bigint();
      await throughput(count, concurrency, async (index) => {
        const tenant = `tenant-${index % tenants}`;
        const user = `agent-s-${index}`;
        await redis.sadd(`online:{${tenant}}`, user);
        await redis.set(`presence:{${tenant}}:${user}`, Date.now(), 'EX', 300);
      });
      const seedConnected = process.hrtime.bigint();
      await throughput(count, concurrency, async (index) => {
        const tenant = `tenant-${index % tenants}`;
        const user = `agent-s-${index}`;
        await redis.srem(`online:{${tenant}}`, user);
        await redis.del(`presence:{${tenant}}:${user}`);
      });
      const seedDone = process.hrtime.bigint();
      const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
      row(
        `${count} connects, ${concurrency} in flight`,
        'redis store',
        `${ms(seedStarted, seedConnected).toFixed(0)} ms`,
        `${ms(started, connected).toFixed(0)} ms`,
        ratio(ms(seedStarted, seedConnected), ms(started, connected)),
      );
      row(
        `${count} disconnects, ${concurrency} in flight`,
        'redis store',
        `${ms(seedConnected, seedDone).toFixed(0)} ms`,
        `${ms(connected, done).toFixed(0)} ms`,
        ratio(ms(seedConnected, seedDone), ms(connected, done)),
      );
      await redis.flushall();
    }
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

// ---- memory store connects and disconnects -------------------------------------------------
{
  const presence = presenceOn(createMemoryPresenceStore());
  await connectAll(presence, 500, 1, 1, 'warm');
  const started = process.hrtime.bigint();
  const connections = await connectAll(presence, count, 1, 1, 'mcd');
  const connected = process.hrtime.bigint();
  for (const connection of connections) await connection.disconnect({ immediate: true });
  const done = process.hrtime.bigint();
  const ms = (from: bigint, to: bigint) => `${(Number(to - from) / 1e6).toFixed(0)} ms`;
  row(`${count} connects`, 'memory store', '', ms(started, connected), '');
  row(`${count} disconnects`, 'memory store', '', ms(connected, done), '');
}

const header = ['case', 'size', 'baseline (seed / raw)', 'presence', 'ratio / figure'];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((cells) => (cells[column] ?? '').length)),
);
const line = (cells: string[]) =>
  cells.map((cell, column) => (cell ?? '').padEnd(widths[column]!)).join(' | ');
console.log(line(header));
console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
for (const cells of rows) console.log(line(cells));
console.log(
  `\nnode ${process.version}, ${tenants} tenants. Ratios: presence / baseline for rates, baseline time / presence time for durations (higher is better), presence / seed for bytes.`,
);

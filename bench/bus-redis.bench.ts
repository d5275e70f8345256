// Redis bus: publish in one process → receive in another, as a ratio of raw ioredis
// PUBLISH/SUBSCRIBE measured in the same run (target ≥ 0.6), with each side's CPU per event and
// what one publish costs inside Redis; then the time to resume 300 events from history on the
// memory and the Redis bus. Runs on a redis-server of its own (so other clients of a shared one
// do not blur the figures, and its command statistics are its own) unless REDIS_URL is set.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { startRedisServer } from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

const server = process.env.REDIS_URL ? undefined : await startRedisServer();
const url = process.env.REDIS_URL ?? (server?.url as string);
const prefix = `bench-bus-${process.pid}`;
const publisherScript = fileURLToPath(new URL('./lib/redis-bench-publisher.ts', import.meta.url));
const COUNT = Number(process.env.BENCH_COUNT ?? 30_000);
const WINDOW = 64;
const ROUNDS = 5;

type Path = 'raw' | 'bus' | 'sealed';

interface Run {
  ms: number;
  publisherCpu: number;
  subscriberCpu: number;
  /** µs per event inside Redis of PUBLISH (raw) or of the publish script (bus), own server only. */
  inRedis: number | undefined;
}

function startPublisher(path: Path, runId: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@calltrack/source',
      publisherScript,
      path,
      url,
      prefix,
      String(COUNT),
      String(WINDOW),
      runId,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let output = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve();
    });
  });
  const cpuPerEvent = new Promise<number>((resolve) =>
    child.once('exit', () => resolve(Number(/sent ([\d.]+)/.exec(output)?.[1] ?? Number.NaN))),
  );
  return { child, ready, cpuPerEvent };
}

/**
 * µs spent inside Redis per event by a command since the last reset, from the server's own
 * statistics (the bus publishes batches of events with one script call under load).
 */
async function commandCost(admin: Redis, command: string): Promise<number | undefined> {
  if (!server) return undefined;
  const info = await admin.info('commandstats');
  const match = new RegExp(`cmdstat_${command}:calls=\\d+,usec=(\\d+),`).exec(info);
  return match ? Number(match[1]) / COUNT : undefined;
}

async function measure(path: Path, runId: string): Promise<Run> {
  const admin = new Redis(url);
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  let close: () => Promise<void>;
  let consume: () => Promise<void> = () => done;
  if (path === 'raw') {
    const subscriber = new Redis(url);
    await subscriber.subscribe(`${prefix}:raw`);
    subscriber.on('message', (_channel, message: string) => {
      JSON.parse(message); // a real consumer parses what it receives; so does the bus
      received += 1;
      if (received === COUNT) resolveDone();
    });
    close = async () => subscriber.disconnect();
  } else {
    const redis = new Redis(url);
    const bus = createRedisBus({ redis, prefix, maxBufferedMessages: COUNT + 10 });
    const subscription = bus.subscribe({ tenantId: 'bench-tenant' });
    await subscription.ready;
    consume = async () => {
      for await (const message of subscription) {
        if (message.type !== 'event') throw new Error(`unexpected ${message.type}`);
        received += 1;
        if (received === COUNT) break;
      }
    };
    close = async () => {
      await bus.close();
      redis.disconnect();
    };
  }
  const publisher = startPublisher(path, runId);
  await publisher.ready;
  if (server) await admin.config('RESETSTAT');
  const cpu = process.cpuUsage();
  const started = performance.now();
  publisher.child.stdin.end('go\n');
  await consume();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const inRedis = await commandCost(admin, path === 'raw' ? 'publish' : 'evalsha');
  const publisherCpu = await publisher.cpuPerEvent;
  await close();
  admin.disconnect();
  return { ms, publisherCpu, subscriberCpu: (used.user + used.system) / COUNT, inRedis };
}

// Alternate the paths round by round and compare medians: on a small shared machine every
// figure moves a lot from run to run.
const runs: Record<Path, Run[]> = { raw: [], bus: [], sealed: [] };
for (let round = 0; round < ROUNDS; round += 1) {
  for (const path of ['raw', 'bus', 'sealed'] as const) {
    runs[path].push(await measure(path, `${path}${round}`));
  }
}
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const medianOf = (path: Path, field: keyof Run): number =>
  median(runs[path].map((run) => run[field] ?? Number.NaN));
const rawMs = medianOf('raw', 'ms');
console.log(
  `rounds (events/s): ${(['raw', 'bus', 'sealed'] as const)
    .map((path) => `${path} ${runs[path].map((run) => perSecond(COUNT, run.ms)).join(', ')}`)
    .join('; ')}`,
);
printTable(
  `Redis publish (child process, ${WINDOW} in flight) → subscribe (this process), ${COUNT} events, median of ${ROUNDS}`,
  (
    [
      ['raw ioredis PUBLISH/SUBSCRIBE', 'raw'],
      ['calltrack Redis bus', 'bus'],
      ['calltrack Redis bus, sealed events', 'sealed'],
    ] as const
  ).map(([name, path]) => ({
    path: name,
    'events/s': perSecond(COUNT, medianOf(path, 'ms')),
    'ratio to raw': ratio(rawMs, medianOf(path, 'ms')),
    'publisher CPU µs/event': Number(medianOf(path, 'publisherCpu').toFixed(1)),
    'subscriber CPU µs/event': Number(medianOf(path, 'subscriberCpu').toFixed(1)),
    'in Redis µs/event': server ? Number(medianOf(path, 'inRedis').toFixed(2)) : 'n/a',
  })),
);

async function resumeTime(
  makeBus: () => { bus: ReturnType<typeof createMemoryBus>; done: () => void },
): Promise<number> {
  const { bus, done } = makeBus();
  const runId = `resume-${Math.random().toString(36).slice(2)}`;
  const first = await bus.publish(benchEvent(0, 'resume-tenant', runId));
  for (let index = 1; index <= 300; index += 1)
    await bus.publish(benchEvent(index, 'resume-tenant', runId));
  const started = performance.now();
  const subscription = bus.subscribe({ tenantId: 'resume-tenant', after: first.cursor });
  let received = 0;
  for await (const message of subscription) {
    if (message.type === 'event') received += 1;
    if (received === 300) break;
  }
  const elapsed = performance.now() - started;
  await bus.close();
  done();
  return elapsed;
}

const memoryResume: number[] = [];
const redisResume: number[] = [];
for (let round = 0; round < 5; round += 1) {
  memoryResume.push(await resumeTime(() => ({ bus: createMemoryBus(), done: () => {} })));
  redisResume.push(
    await resumeTime(() => {
      const redis = new Redis(url);
      return { bus: createRedisBus({ redis, prefix }), done: () => redis.disconnect() };
    }),
  );
}
printTable(
  'Time to resume 300 events from history (subscribe with after → 300th event received), median of 5',
  [
    { bus: 'memory', ms: Number(median(memoryResume).toFixed(2)) },
    { bus: 'redis', ms: Number(median(redisResume).toFixed(2)) },
  ],
);

if (server) {
  await server.stop();
} else {
  const cleanup = new Redis(url);
  let cursor = '0';
  do {
    const [next, keys] = await cleanup.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await cleanup.unlink(...keys);
  } while (cursor !== '0');
  cleanup.disconnect();
}

// Redis bus: publish in one process → receive in another, as a ratio of raw ioredis
// PUBLISH/SUBSCRIBE measured in the same run (target ≥ 0.5); and time to resume 300 events from
// history on the memory and the Redis bus.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { Redis } from 'ioredis';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `bench-bus-${process.pid}`;
const publisherScript = fileURLToPath(new URL('./lib/redis-bench-publisher.ts', import.meta.url));
const COUNT = Number(process.env.BENCH_COUNT ?? 30_000);
const WINDOW = 64;

function startPublisher(mode: 'raw' | 'bus', runId: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@calltrack/source',
      publisherScript,
      mode,
      url,
      prefix,
      String(COUNT),
      String(WINDOW),
      runId,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, exited };
}

async function measureRaw(runId: string): Promise<number> {
  const subscriber = new Redis(url);
  await subscriber.subscribe(`${prefix}:raw`);
  let received = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  subscriber.on('message', (_channel, message: string) => {
    JSON.parse(message); // a real consumer parses what it receives; so does the bus
    received += 1;
    if (received === COUNT) resolveDone();
  });
  const publisher = startPublisher('raw', runId);
  await publisher.ready;
  const started = performance.now();
  publisher.child.stdin.end('go\n');
  await done;
  const elapsed = performance.now() - started;
  await publisher.exited;
  subscriber.disconnect();
  return elapsed;
}

async function measureBus(runId: string): Promise<number> {
  const redis = new Redis(url);
  const bus = createRedisBus({ redis, prefix, maxBufferedMessages: COUNT + 10 });
  const subscription = bus.subscribe({ tenantId: 'bench-tenant' });
  await subscription.ready;
  const publisher = startPublisher('bus', runId);
  await publisher.ready;
  const started = performance.now();
  publisher.child.stdin.end('go\n');
  let received = 0;
  for await (const message of subscription) {
    if (message.type !== 'event') throw new Error(`unexpected ${message.type}`);
    received += 1;
    if (received === COUNT) break;
  }
  const elapsed = performance.now() - started;
  await publisher.exited;
  await bus.close();
  redis.disconnect();
  return elapsed;
}

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

// Alternate the two paths for three rounds and compare medians: on a small shared machine the
// baseline in particular moves a lot from run to run.
const rawRuns: number[] = [];
const busRuns: number[] = [];
for (let round = 0; round < 3; round += 1) {
  rawRuns.push(await measureRaw(`raw${round}`));
  busRuns.push(await measureBus(`bus${round}`));
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[1]!;
const rawMs = median(rawRuns);
const busMs = median(busRuns);
console.log(
  `rounds (events/s) raw: ${rawRuns.map((ms) => perSecond(COUNT, ms)).join(', ')}; bus: ${busRuns
    .map((ms) => perSecond(COUNT, ms))
    .join(', ')}`,
);
printTable(
  `Redis publish (child process, ${WINDOW} in flight) → subscribe (this process), ${COUNT} events`,
  [
    { path: 'raw ioredis PUBLISH/SUBSCRIBE', 'events/s': perSecond(COUNT, rawMs) },
    { path: 'calltrack Redis bus', 'events/s': perSecond(COUNT, busMs) },
    { path: 'ratio (bus / raw)', 'events/s': ratio(rawMs, busMs) },
  ],
);

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
    { bus: 'memory', ms: Number(memoryResume.sort((a, b) => a - b)[2]!.toFixed(2)) },
    { bus: 'redis', ms: Number(redisResume.sort((a, b) => a - b)[2]!.toFixed(2)) },
  ],
);

const cleanup = new Redis(url);
let cursor = '0';
do {
  const [next, keys] = await cleanup.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await cleanup.unlink(...keys);
} while (cursor !== '0');
cleanup.disconnect();

// Outbound webhooks: deliveries per second from one process to a local receiver (a bare
// node:http server in a child process answering 204), for the memory and the Redis store,
// against a bare undici request loop at the same concurrency, measured in the same run
// (targets: memory >= 0.6 of bare, Redis >= 0.3), with BullMQ alone (a no-op worker on the same
// jobs) as the floor of a store where every delivery is a job (since decision 0044 a first attempt
// that finds a send permit is not); fan-out of one event to 100 endpoints; and
// Redis memory per scheduled retry, against a bare BullMQ delayed job carrying the same body.
// Redis figures use a redis-server of their own (or the one REDIS_URL names).
//
//   node --import tsx --conditions=@calltrack/source --expose-gc bench/webhooks.bench.ts
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { startRedisServer } from '@calltrack/test-utils';
import {
  createMemoryWebhookStore,
  createWebhookDispatcher,
  signWebhook,
  type WebhookPayload,
  type WebhookStore,
} from '@calltrack/webhooks';
import { createRedisWebhookStore } from '@calltrack/webhooks/redis';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { benchEvent } from './lib/bench-event';
import { perSecond, printTable, ratio } from './lib/report';

const COUNT = Number(process.env.BENCH_COUNT ?? 4000);
const CONCURRENCY = 50;
const FAN_OUT = 100;
const FAN_OUT_EVENTS = 20;
const RETRIES = 2000;

// ---- receiver (child process) ------------------------------------------------------------------

function serve(): void {
  let count = 0;
  let target = Number.POSITIVE_INFINITY;
  const server = createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      const failing = req.url === '/fail';
      res.statusCode = failing ? 500 : 204;
      res.end();
      count += 1;
      if (count === target) process.send!({ type: 'reached' });
    });
  });
  server.keepAliveTimeout = 60_000;
  process.on('message', (message: { type: string; count: number }) => {
    if (message.type === 'expect') {
      count = 0;
      target = message.count;
      process.send!({ type: 'expecting' });
    }
  });
  server.listen(0, '127.0.0.1', () =>
    process.send!({ port: (server.address() as AddressInfo).port }),
  );
}

async function startReceiver(): Promise<{ child: ChildProcess; base: string }> {
  const child = fork(fileURLToPath(import.meta.url), ['--receive'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (message) => resolve((message as { port: number }).port)),
  );
  return { child, base: `http://127.0.0.1:${port}` };
}

/** Tells the receiver to count `count` requests from now; resolves when they have arrived. */
async function expectRequests(
  child: ChildProcess,
  count: number,
): Promise<{ reached: Promise<void> }> {
  const reached = new Promise<void>((resolve) => {
    const onMessage = (message: { type?: string }) => {
      if (message.type === 'reached') {
        child.off('message', onMessage);
        resolve();
      }
    };
    child.on('message', onMessage);
  });
  await new Promise<void>((resolve) => {
    const onMessage = (message: { type?: string }) => {
      if (message.type === 'expecting') {
        child.off('message', onMessage);
        resolve();
      }
    };
    child.on('message', onMessage);
    child.send({ type: 'expect', count });
  });
  // Wrapped: an async function returning the promise itself would wait for it.
  return { reached };
}

// ---- measurements ------------------------------------------------------------------------------

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

// The body the dispatcher sends for this event (it is far under the size limit).
const { raw: _raw, ...bareEvent } = benchEvent(0);
const bareBody = JSON.stringify({
  type: bareEvent.type,
  timestamp: bareEvent.occurredAt,
  data: bareEvent,
} satisfies WebhookPayload);

/** One undici POST of the signed body. */
async function postSigned(agent: Agent, url: string, index: number): Promise<void> {
  const timestamp = Math.floor(Date.now() / 1000);
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/json',
      'webhook-id': `msg_${index}`,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook({
        id: `msg_${index}`,
        timestamp,
        body: bareBody,
        secrets: [secret],
      }),
    },
    body: bareBody,
  });
  await response.body.dump();
}

/** The physical baseline: undici POSTs of a signed body, CONCURRENCY at a time. */
async function bareLoop(base: string, count: number, paths = ['/bare']): Promise<number> {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await postSigned(agent, `${base}${paths[index % paths.length]}`, index);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - started;
  await agent.close();
  return elapsed;
}

async function dispatcherRun(
  receiver: { child: ChildProcess; base: string },
  store: WebhookStore,
  endpoints: number,
  events: number,
): Promise<number> {
  const bus = createMemoryBus({
    maxBufferedMessages: events + 10,
    history: { maxEvents: events + 10 },
  });
  const dispatcher = createWebhookDispatcher({
    bus,
    store,
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    concurrency: CONCURRENCY,
    maxEndpointsPerTenant: FAN_OUT,
    onError: (error) => console.error(error),
  });
  for (let index = 0; index < endpoints; index += 1) {
    await dispatcher.createEndpoint('bench-tenant', {
      url: `${receiver.base}/ep${index}`,
      maxConcurrency: CONCURRENCY,
    });
  }
  await dispatcher.start();
  const { reached } = await expectRequests(receiver.child, endpoints * events);
  const runId = Math.random().toString(36).slice(2);
  const started = performance.now();
  for (let index = 0; index < events; index += 1)
    await bus.publish(benchEvent(index, 'bench-tenant', runId));
  await reached;
  const elapsed = performance.now() - started;
  await dispatcher.close();
  await bus.close();
  return elapsed;
}

/**
 * BullMQ alone, for reference: the same number of jobs as the Redis dispatcher queues (ids-only
 * data, the same id shape, added in bulk as fan-out does), run by a worker with the dispatcher's
 * job concurrency that does nothing, or only the bare loop's signed POST (`base` given). The
 * queue's own add / move to active / move to finished per job, without our scripts: floors for
 * the Redis store.
 */
async function bullAloneRun(
  redis: Redis,
  prefix: string,
  count: number,
  base?: string,
): Promise<number> {
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const connection = { connection: redis.duplicate({ maxRetriesPerRequest: null }) };
  const queue = new Queue('deliveries', {
    ...connection,
    prefix: `{${prefix}}`,
    defaultJobOptions: { removeOnComplete: true },
  });
  let done = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const workerConnection = redis.duplicate({ maxRetriesPerRequest: null });
  let sent = 0;
  const worker = new Worker(
    'deliveries',
    async () => {
      if (base) await postSigned(agent, `${base}/bull`, sent++);
    },
    {
      connection: workerConnection,
      prefix: `{${prefix}}`,
      concurrency: CONCURRENCY * 2,
    },
  );
  worker.on('completed', () => {
    done += 1;
    if (done === count) finish();
  });
  await worker.waitUntilReady();
  const endpointId = 'ep_AAAAAAAAAAAAAAAAAAAAAAAA';
  const started = performance.now();
  for (let offset = 0; offset < count; offset += 256) {
    await queue.addBulk(
      Array.from({ length: Math.min(256, count - offset) }, (_, index) => {
        const messageId = `msg_${String(offset + index).padStart(27, '0')}`;
        return {
          name: 'event',
          data: ['bench-tenant', endpointId, messageId],
          opts: { jobId: `${endpointId}_${messageId}` },
        };
      }),
    );
  }
  await finished;
  const elapsed = performance.now() - started;
  await worker.close();
  await workerConnection.quit();
  await queue.close();
  await connection.connection.quit();
  await agent.close();
  return elapsed;
}

async function redisKeysMemory(
  redis: Redis,
  patterns: string[],
): Promise<{ bytes: number; keys: number }> {
  let bytes = 0;
  let keys = 0;
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
        keys += 1;
      }
    } while (cursor !== '0');
  }
  return { bytes, keys };
}

async function deletePattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
}

async function main(): Promise<void> {
  const receiver = await startReceiver();
  // A redis-server of its own (unless REDIS_URL names one): other work on a shared Redis would
  // skew the Redis rows.
  const server = process.env.REDIS_URL ? undefined : await startRedisServer();
  const redis = new Redis(process.env.REDIS_URL ?? (server?.url as string), {
    maxRetriesPerRequest: null,
  });
  const prefixes: string[] = [];
  const redisStore = () => {
    const prefix = `bench-webhooks-${process.pid}-${prefixes.length}`;
    prefixes.push(prefix);
    return { store: createRedisWebhookStore({ redis, prefix }), prefix };
  };

  try {
    // Warm-up: connections, JIT.
    const warm = await expectRequests(receiver.child, 500);
    await bareLoop(receiver.base, 500);
    await warm.reached;

    // 1. Deliveries per second, one endpoint. The machine is shared: three interleaved rounds,
    // the best of each kept.
    let bareMs = Number.POSITIVE_INFINITY;
    let memoryMs = Number.POSITIVE_INFINITY;
    let redisMs = Number.POSITIVE_INFINITY;
    let bullMs = Number.POSITIVE_INFINITY;
    let bullPostMs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round += 1) {
      const bareDone = await expectRequests(receiver.child, COUNT);
      bareMs = Math.min(bareMs, await bareLoop(receiver.base, COUNT));
      await bareDone.reached;
      memoryMs = Math.min(
        memoryMs,
        await dispatcherRun(receiver, createMemoryWebhookStore(), 1, COUNT),
      );
      const redisRun = redisStore();
      redisMs = Math.min(redisMs, await dispatcherRun(receiver, redisRun.store, 1, COUNT));
      await redisRun.store.close();
      const bullPrefix = `bench-bull-alone-${process.pid}-${round}`;
      prefixes.push(`${bullPrefix}-noop`, `${bullPrefix}-post`);
      bullMs = Math.min(bullMs, await bullAloneRun(redis, `${bullPrefix}-noop`, COUNT));
      const bullPosts = await expectRequests(receiver.child, COUNT);
      bullPostMs = Math.min(
        bullPostMs,
        await bullAloneRun(redis, `${bullPrefix}-post`, COUNT, receiver.base),
      );
      await bullPosts.reached;
    }
    const bare = perSecond(COUNT, bareMs);
    printTable(
      `Deliveries per second, one endpoint, concurrency ${CONCURRENCY} (${COUNT} deliveries, best of 3)`,
      [
        { path: 'bare undici request loop (baseline)', 'deliveries/s': bare, 'ratio to bare': 1 },
        {
          path: 'dispatcher, memory store',
          'deliveries/s': perSecond(COUNT, memoryMs),
          'ratio to bare': ratio(bareMs, memoryMs),
          target: '>= 0.6',
        },
        {
          path: 'dispatcher, Redis store (BullMQ)',
          'deliveries/s': perSecond(COUNT, redisMs),
          'ratio to bare': ratio(bareMs, redisMs),
          target: '>= 0.3',
        },
        {
          path: 'for reference: BullMQ alone, same jobs, no-op worker',
          'deliveries/s': perSecond(COUNT, bullMs),
          'ratio to bare': ratio(bareMs, bullMs),
        },
        {
          path: 'for reference: BullMQ alone, same jobs, worker sends the bare POST',
          'deliveries/s': perSecond(COUNT, bullPostMs),
          'ratio to bare': ratio(bareMs, bullPostMs),
        },
      ],
    );

    // 2. Fan-out: each event to 100 endpoints.
    const total = FAN_OUT * FAN_OUT_EVENTS;
    const paths = Array.from({ length: FAN_OUT }, (_, index) => `/bare${index}`);
    const fanBareDone = await expectRequests(receiver.child, total);
    const fanBareMs = await bareLoop(receiver.base, total, paths);
    await fanBareDone.reached;
    const fanMemoryMs = await dispatcherRun(
      receiver,
      createMemoryWebhookStore(),
      FAN_OUT,
      FAN_OUT_EVENTS,
    );
    const fanRedis = redisStore();
    const fanRedisMs = await dispatcherRun(receiver, fanRedis.store, FAN_OUT, FAN_OUT_EVENTS);
    await fanRedis.store.close();
    printTable(`Fan-out: ${FAN_OUT_EVENTS} events x ${FAN_OUT} endpoints (${total} deliveries)`, [
      {
        path: 'bare undici loop, same 2,000 requests',
        'deliveries/s': perSecond(total, fanBareMs),
        'ms per event': Math.round(fanBareMs / FAN_OUT_EVENTS),
        'ratio to bare': 1,
      },
      {
        path: 'dispatcher, memory store',
        'deliveries/s': perSecond(total, fanMemoryMs),
        'ms per event': Math.round(fanMemoryMs / FAN_OUT_EVENTS),
        'ratio to bare': ratio(fanBareMs, fanMemoryMs),
      },
      {
        path: 'dispatcher, Redis store',
        'deliveries/s': perSecond(total, fanRedisMs),
        'ms per event': Math.round(fanRedisMs / FAN_OUT_EVENTS),
        'ratio to bare': ratio(fanBareMs, fanRedisMs),
      },
    ]);

    // 3. Redis memory per scheduled retry: RETRIES deliveries failed once, each waiting an hour.
    const retry = redisStore();
    const retryBus = createMemoryBus({
      maxBufferedMessages: RETRIES + 10,
      history: { maxEvents: RETRIES + 10 },
    });
    const retryDispatcher = createWebhookDispatcher({
      bus: retryBus,
      store: retry.store,
      allowHttp: true,
      allowedCidrs: ['127.0.0.0/8'],
      concurrency: CONCURRENCY,
      retrySchedule: [3_600_000],
    });
    const failing = await retryDispatcher.createEndpoint('bench-tenant', {
      url: `${receiver.base}/fail`,
      maxConcurrency: CONCURRENCY,
    });
    await retryDispatcher.start();
    const failed = await expectRequests(receiver.child, RETRIES);
    for (let index = 0; index < RETRIES; index += 1)
      await retryBus.publish(benchEvent(index, 'bench-tenant', 'retry'));
    await failed;
    for (;;) {
      const { attempts } = await retryDispatcher.listAttempts('bench-tenant', failing.endpoint.id, {
        limit: 1000,
        since: 0,
      });
      const delayed = await redis.zcard(`{${retry.prefix}}:deliveries:delayed`);
      if (attempts.length === 1000 && delayed >= RETRIES) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await retryDispatcher.close();
    const used = await redisKeysMemory(redis, [`${retry.prefix}*`, `{${retry.prefix}}*`]);
    await retry.store.close(); // its queue's connections would keep the process alive
    // The peer: a bare BullMQ delayed job carrying the same signed body.
    const peerPrefix = `bench-bull-${process.pid}`;
    // BullMQ does not close a connection it is given: the bench closes it after the queue.
    const peerConnection = redis.duplicate();
    const queue = new Queue('peer', { connection: peerConnection, prefix: `{${peerPrefix}}` });
    const body = bareBody;
    for (let offset = 0; offset < RETRIES; offset += 500) {
      await queue.addBulk(
        Array.from({ length: 500 }, (_, index) => ({
          name: 'deliver',
          data: { url: `${receiver.base}/fail`, body, endpointId: failing.endpoint.id },
          opts: { delay: 3_600_000, jobId: `job-${offset + index}` },
        })),
      );
    }
    const peer = await redisKeysMemory(redis, [`{${peerPrefix}}*`]);
    await queue.close();
    await peerConnection.quit();
    await deletePattern(redis, `{${peerPrefix}}*`);
    printTable(
      `Redis memory per scheduled retry (${RETRIES} deliveries waiting, MEMORY USAGE of every key)`,
      [
        {
          what: 'bare BullMQ delayed job with the same body (peer)',
          'bytes per retry': Math.round(peer.bytes / RETRIES),
          keys: peer.keys,
          'ratio to peer': 1,
        },
        {
          what: 'calltrack: job + delivery + message + log row',
          'bytes per retry': Math.round(used.bytes / RETRIES),
          keys: used.keys,
          'ratio to peer': ratio(used.bytes, peer.bytes),
        },
      ],
    );
  } finally {
    for (const prefix of prefixes) {
      await deletePattern(redis, `${prefix}*`);
      await deletePattern(redis, `{${prefix}}*`);
    }
    await redis.quit();
    await server?.stop();
    // Killed and waited for until its channel is closed too ('close', not 'exit'), or its pipes
    // and process handle stay open.
    const exited = new Promise((resolve) => receiver.child.once('close', resolve));
    receiver.child.kill();
    await exited;
    // The child's handles finish closing in the event loop's next turn.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

if (process.argv.includes('--receive')) serve();
else {
  // What is open before the benchmark is not its: stdout and stderr (a TTY, or pipes when piped),
  // opened on first use, so written to first.
  process.stdout.write('');
  process.stderr.write('');
  const before = process.getActiveResourcesInfo();
  await main();
  // Everything is closed by now, so the process ends by itself; name whatever would hold it open.
  const left = process.getActiveResourcesInfo();
  for (const kind of before) {
    const index = left.indexOf(kind);
    if (index !== -1) left.splice(index, 1);
  }
  if (left.length > 0) console.warn(`still open after the benchmark: ${left.join(', ')}`);
}

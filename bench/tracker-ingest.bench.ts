// Tracker ingest benchmark: throughput of `tracker.ingest` against a bare `bus.publish` of the
// same events (same run, same machine), on the memory store and on the Redis store, the floor
// under the Redis store's one step (its own commands replayed without its Lua, decision 0052),
// and the memory one active call costs in each store. Run through bench/run.ts, or alone:
//   node --import tsx --conditions=@calltrack/source --expose-gc bench/tracker-ingest.bench.ts
// Redis figures use a redis-server of their own (started here), so other work on the shared
// Redis cannot skew them; they are skipped when redis-server is not installed.
import { createMemoryBus, type EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type CallEvent, type CallStatus, type EventSink, sealCallEvent } from '@calltrack/core';
import { redisBusIngestOf } from '@calltrack/redis-script';
import { startRedisServer } from '@calltrack/test-utils';
import { createCallTracker, createMemoryCallStore } from '@calltrack/tracker';
import { createRedisCallStore } from '@calltrack/tracker/redis';
import { Redis } from 'ioredis';
import { loadMinimalIngestStep } from './lib/minimal-ingest-step';
import {
  loadReplayFunction,
  recordFunctionCommands,
  replayArguments,
} from './lib/replay-script-commands';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('Run with --expose-gc (bench/run.ts does).');

const tenants = 10;
// The calls happen now: the tracker drops an event older than its retention, of a call it does
// not know, as a replay (and would measure that instead).
const t0 = Date.now();

/** The lifecycle of `calls` calls (initiated, ringing, answered, ended), interleaved in time. */
function lifecycles(calls: number, run: string, withEnd = true): CallEvent[] {
  return [...lifecycleEvents(calls, run, withEnd)];
}

/** {@link lifecycles}, one fresh event at a time (nothing shared with the caller). */
function* lifecycleEvents(calls: number, run: string, withEnd: boolean): Generator<CallEvent> {
  const steps: { type: string; status: CallStatus }[] = [
    { type: 'call.initiated', status: 'queued' },
    { type: 'call.ringing', status: 'ringing' },
    { type: 'call.answered', status: 'in-progress' },
    ...(withEnd ? [{ type: 'call.ended', status: 'completed' as const }] : []),
  ];
  for (const [step, { type, status }] of steps.entries()) {
    for (let index = 0; index < calls; index += 1) {
      const callId = `CA${run}${String(index).padStart(8, '0')}`;
      const at = new Date(t0 + index * 10 + step * 5000).toISOString();
      yield {
        id: `twilio:${callId}:${status}`,
        type,
        tenantId: `tenant-${index % tenants}`,
        branchId: `branch-${index % 4}`,
        agentId: `agent-${index % 50}`,
        provider: 'twilio',
        callId,
        direction: 'inbound',
        from: '+14155550100',
        to: '+14155550199',
        status,
        occurredAt: at,
        receivedAt: at,
        sequence: step,
        data:
          type === 'call.ended'
            ? { durationMs: 60_000, providerStatus: status }
            : { providerStatus: status },
      };
    }
  }
}

/** Events per second through `sink`, with `concurrency` publishes in flight. */
async function throughput(
  sink: EventSink,
  events: readonly CallEvent[],
  concurrency = 1,
): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < events.length) {
        const event = events[next]!;
        next += 1;
        await sink.publish(event);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return events.length / seconds;
}

const silent = {};
const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);
const rate = (value: number) => `${Math.round(value).toLocaleString('en-US')}/s`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;

// ---- memory --------------------------------------------------------------------------------
{
  const calls = 5000;
  // Warm up both paths so the JIT has seen them.
  await throughput(createMemoryBus(), lifecycles(500, 'w'));
  await throughput(
    createCallTracker({ bus: createMemoryBus(), logger: silent }),
    lifecycles(500, 'x'),
  );
  for (const concurrency of [1, 32]) {
    const events = lifecycles(calls, `m${concurrency}`);
    gc();
    const bare = await throughput(createMemoryBus(), events, concurrency);
    gc();
    const tracked = await throughput(
      createCallTracker({ bus: createMemoryBus(), logger: silent }),
      events,
      concurrency,
    );
    row(
      `memory store + memory bus, ${concurrency} in flight`,
      `${events.length} events`,
      rate(bare),
      rate(tracked),
      ratio(tracked, bare),
    );
  }
}

// ---- memory per active call (memory store) -------------------------------------------------
{
  const calls = 10_000;
  const nowhere: EventSink = { publish: async () => ({ duplicate: false }) };
  const store = createMemoryCallStore();
  const tracker = createCallTracker({ bus: nowhere, store, logger: silent });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  // Events are made one by one, so the strings the store keeps are counted as its own.
  for (const event of lifecycleEvents(calls, 'a', false)) await tracker.ingest(event);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const active = (await tracker.countActiveCallsAcrossTenants()).total;
  row(
    'memory store: heap per active call',
    `${active} active`,
    '',
    '',
    `${Math.round((after - before) / active)} B`,
  );
}

// ---- Redis ---------------------------------------------------------------------------------
// Paths, alternated round by round (medians reported; the machine is shared and noisy):
// - bare: `bus.publish` of the Redis bus, the physical baseline of a tracked event;
// - two-step: the tracker applies, then publishes, then confirms (what any bus that is not a
//   Redis bus of the same Redis gets; forced here by handing the tracker a plain sink over the
//   same Redis bus);
// - one-step: the tracker on a Redis bus of the same Redis: apply and publish in one script.
// With plain events (validated on the way in) and with events sealed beforehand, as the provider
// handlers hand them over. CPU per event is this process's (`process.cpuUsage`) and the Redis
// server's (`INFO cpu`): steadier than rates on a loaded machine.
let server: Awaited<ReturnType<typeof startRedisServer>> | undefined;
try {
  server = await startRedisServer();
} catch (error) {
  row('redis', 'skipped: redis-server not available', String(error).slice(0, 60), '', '');
}
if (server) {
  const redis = new Redis(server.url);
  try {
    const calls = 2000;
    const rounds = 3;
    const buses: EventBus[] = [];
    const memoryBus = () => {
      const bus = createMemoryBus();
      buses.push(bus);
      return bus;
    };
    const redisBus = (prefix: string) => {
      const bus = createRedisBus({ redis, prefix });
      buses.push(bus);
      return bus;
    };
    /** The Redis bus as a plain sink: the tracker cannot tell what it is, so it goes two-step. */
    const hidden = (bus: EventBus): EventSink => ({ publish: (event) => bus.publish(event) });
    const redisCpu = async (): Promise<number> => {
      const info = await redis.info('cpu');
      const seconds = (name: string) =>
        Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
      return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
    };
    interface Measured {
      rate: number;
      cpu: number;
      inRedis: number;
    }
    const measure = async (
      sink: EventSink,
      events: readonly CallEvent[],
      concurrency: number,
    ): Promise<Measured> => {
      gc();
      const redisBefore = await redisCpu();
      const cpuBefore = process.cpuUsage();
      const rate = await throughput(sink, events, concurrency);
      const cpu = process.cpuUsage(cpuBefore);
      const inRedis = (await redisCpu()) - redisBefore;
      return {
        rate,
        cpu: (cpu.user + cpu.system) / events.length,
        inRedis: inRedis / events.length,
      };
    };
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const summary = (runs: Measured[]): Measured => ({
      rate: median(runs.map((run) => run.rate)),
      cpu: median(runs.map((run) => run.cpu)),
      inRedis: median(runs.map((run) => run.inRedis)),
    });
    const cpuText = (measured: Measured) =>
      `${measured.cpu.toFixed(1)} µs + Redis ${measured.inRedis.toFixed(1)} µs`;

    // Warm-up: every path once, so scripts are loaded and the JIT has seen them.
    await throughput(
      createCallTracker({
        bus: memoryBus(),
        store: createRedisCallStore({ redis, prefix: 'warm' }),
        logger: silent,
      }),
      lifecycles(300, 'w'),
    );
    await throughput(redisBus('warm-bus'), lifecycles(300, 'w'));
    await throughput(
      createCallTracker({
        bus: redisBus('warm-one-bus'),
        store: createRedisCallStore({ redis, prefix: 'warm-one' }),
        logger: silent,
      }),
      lifecycles(300, 'w1'),
    );

    /** The sealed rows at 32 in flight, for the floor below. */
    let sealedAt32: { bare: Measured; one: Measured } | undefined;
    for (const concurrency of [1, 32]) {
      {
        const events = lifecycles(calls, `r${concurrency}`);
        const bare = await throughput(memoryBus(), events, concurrency);
        const tracked = await throughput(
          createCallTracker({
            bus: memoryBus(),
            store: createRedisCallStore({ redis, prefix: `s${concurrency}` }),
            logger: silent,
          }),
          events,
          concurrency,
        );
        row(
          `redis store + memory bus, ${concurrency} in flight`,
          `${events.length} events`,
          rate(bare),
          rate(tracked),
          ratio(tracked, bare),
        );
      }
      for (const sealed of [false, true]) {
        const runs: Record<'bare' | 'two' | 'one', Measured[]> = { bare: [], two: [], one: [] };
        for (let round = 0; round < rounds; round += 1) {
          const id = `${concurrency}${sealed ? 's' : 'p'}${round}`;
          const plain = lifecycles(calls, id);
          const events = sealed ? plain.map((event) => sealCallEvent(event)) : plain;
          runs.bare.push(await measure(redisBus(`b${id}`), events, concurrency));
          runs.two.push(
            await measure(
              createCallTracker({
                bus: hidden(redisBus(`tb${id}`)),
                store: createRedisCallStore({ redis, prefix: `ts${id}` }),
                logger: silent,
              }),
              events,
              concurrency,
            ),
          );
          runs.one.push(
            await measure(
              createCallTracker({
                bus: redisBus(`ob${id}`),
                store: createRedisCallStore({ redis, prefix: `os${id}` }),
                logger: silent,
              }),
              events,
              concurrency,
            ),
          );
        }
        const [bare, two, one] = [summary(runs.bare), summary(runs.two), summary(runs.one)];
        if (concurrency === 32 && sealed) sealedAt32 = { bare, one };
        const kind = sealed ? 'sealed events' : 'plain events';
        const size = `${calls * 4} events, ${kind}`;
        row(
          `redis bus.publish (bare), ${concurrency} in flight`,
          size,
          rate(bare.rate),
          cpuText(bare),
          '1.00×',
        );
        row(
          `redis store + redis bus, two-step, ${concurrency} in flight`,
          size,
          rate(bare.rate),
          `${rate(two.rate)}; ${cpuText(two)}`,
          `${ratio(two.rate, bare.rate)} (CPU ${ratio(bare.cpu + bare.inRedis, two.cpu + two.inRedis)})`,
        );
        row(
          `redis store + redis bus, one step, ${concurrency} in flight`,
          size,
          rate(bare.rate),
          `${rate(one.rate)}; ${cpuText(one)}`,
          `${ratio(one.rate, bare.rate)} (CPU ${ratio(bare.cpu + bare.inRedis, one.cpu + one.inRedis)})`,
        );
      }
    }
    await Promise.all(buses.map((bus) => bus.close()));

    // Commands per ingested event, with the Redis bus, on each path: those the client sent
    // (round trips; the two-step confirmation is one, sent without waiting), and those Redis
    // ran, scripts included (this server is the bench's own: resetting its statistics disturbs
    // nobody).
    for (const path of ['two-step', 'one step'] as const) {
      const slug = path === 'two-step' ? 'c2' : 'c1';
      const events = lifecycles(calls, slug);
      const bus = createRedisBus({ redis, prefix: `cb-${slug}` });
      const tracker = createCallTracker({
        bus: path === 'two-step' ? hidden(bus) : bus,
        store: createRedisCallStore({ redis, prefix: `cs-${slug}` }),
        logger: silent,
      });
      await redis.config('RESETSTAT');
      const sent = new Map<string, number>();
      const sendCommand = redis.sendCommand.bind(redis);
      redis.sendCommand = ((command, stream) => {
        sent.set(command.name, (sent.get(command.name) ?? 0) + 1);
        return sendCommand(command, stream);
      }) as Redis['sendCommand'];
      await throughput(tracker, events, 32);
      await tracker.stop();
      redis.sendCommand = sendCommand;
      const stats = await redis.info('commandstats');
      const ran = [...stats.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)]
        .filter(([, name]) => !/^(config|info)/.test(name!))
        .reduce((sum, [, , count]) => sum + Number(count), 0);
      const perEvent = (count: number) => (count / events.length).toFixed(2);
      const clientTotal = [...sent.values()].reduce((sum, count) => sum + count, 0);
      row(
        `redis store + redis bus, ${path}: client commands per event`,
        `${events.length} events`,
        [...sent].map(([name, count]) => `${name} ${perEvent(count)}`).join(', '),
        '',
        perEvent(clientTotal),
      );
      row(
        `redis store + redis bus, ${path}: commands Redis ran per event`,
        'scripts included',
        '',
        '',
        perEvent(ran),
      );
      await bus.close();
    }

    // The floor under the one step: the commands it ran inside Redis (recorded with MONITOR),
    // replayed one call per event by a function with no logic, 32 in flight. What the step costs
    // above it is its Lua: reading the arguments, the state machine, the snapshot's JSON.
    if (sealedAt32) {
      const events = lifecycles(calls, 'fl').map((event) => sealCallEvent(event));
      const bus = createRedisBus({ redis, prefix: 'fb' });
      const tracker = createCallTracker({
        bus,
        store: createRedisCallStore({ redis, prefix: 'fs' }),
        logger: silent,
      });
      const recorded = await recordFunctionCommands(redis, async () => {
        await throughput(tracker, events, 32);
      });
      await bus.close();
      const replay = await loadReplayFunction(redis);
      const payloads = recorded.map(replayArguments);
      const runs: Measured[] = [];
      for (let round = 0; round < rounds; round += 1) {
        // The replay writes the keys the recorded run wrote, stream ids included.
        await redis.flushall();
        gc();
        const redisBefore = await redisCpu();
        const cpuBefore = process.cpuUsage();
        let next = 0;
        const started = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: 32 }, async () => {
            while (next < payloads.length) {
              const payload = payloads[next]!;
              next += 1;
              await replay(payload);
            }
          }),
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = process.cpuUsage(cpuBefore);
        runs.push({
          rate: payloads.length / seconds,
          cpu: (cpu.user + cpu.system) / payloads.length,
          inRedis: ((await redisCpu()) - redisBefore) / payloads.length,
        });
      }
      const floor = summary(runs);
      const commands = recorded.reduce((sum, call) => sum + call.length, 0) / recorded.length;
      const { bare, one } = sealedAt32;
      row(
        "one step's Redis commands replayed without its Lua, 32 in flight",
        `${payloads.length} calls, ${commands.toFixed(1)} commands each`,
        rate(bare.rate),
        `${rate(floor.rate)}; Redis ${floor.inRedis.toFixed(1)} µs (the step: ${one.inRedis.toFixed(1)} µs)`,
        ratio(floor.rate, bare.rate),
      );
    }

    // A bound above the one step: the leanest one-step design (bench/lib/minimal-ingest-step.ts,
    // decision 0069), one FCALL per event and batched per tenant as the bus batches (decision
    // 0071), alternated round by round with a bare publish of the same events.
    for (const concurrency of [1, 32]) {
      const runs: Record<'bare' | 'minimal' | 'batched', Measured[]> = {
        bare: [],
        minimal: [],
        batched: [],
      };
      for (let round = 0; round < rounds; round += 1) {
        for (const path of ['bare', 'minimal', 'batched'] as const) {
          const id = `mn${path}${concurrency}${round}`;
          const events = lifecycles(calls, id).map((event) => sealCallEvent(event));
          const bus = redisBus(id);
          if (path === 'bare') {
            runs.bare.push(await measure(bus, events, concurrency));
            continue;
          }
          const busIngest = redisBusIngestOf(bus)!;
          const ingest = await loadMinimalIngestStep(
            redis,
            await busIngest.publishFunctions(),
            busIngest.keys,
            id,
            path === 'batched',
          );
          runs[path].push(await measure({ publish: ingest } as EventSink, events, concurrency));
        }
      }
      const [bare, minimal, batched] = [
        summary(runs.bare),
        summary(runs.minimal),
        summary(runs.batched),
      ];
      row(
        `bound: a minimal one step (call as one string, start/end indexes), ${concurrency} in flight`,
        `${calls * 4} events, sealed events`,
        `${rate(bare.rate)}; ${cpuText(bare)}`,
        `${rate(minimal.rate)}; ${cpuText(minimal)}`,
        ratio(minimal.rate, bare.rate),
      );
      row(
        `bound: the same batched per tenant as the bus batches, ${concurrency} in flight`,
        `${calls * 4} events, sealed events`,
        `${rate(bare.rate)}; ${cpuText(bare)}`,
        `${rate(batched.rate)}; ${cpuText(batched)}`,
        ratio(batched.rate, bare.rate),
      );
    }
    await Promise.all(buses.map((bus) => bus.close()));

    // Memory per active call in Redis: used_memory delta, and MEMORY USAGE of the call hashes.
    await redis.flushall();
    const usedMemory = async () =>
      Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    const nowhere: EventSink = { publish: async () => ({ duplicate: false }) };
    const tracker = createCallTracker({
      bus: nowhere,
      store: createRedisCallStore({ redis, prefix: 'mem' }),
      logger: silent,
    });
    const active = 10_000;
    const before = await usedMemory();
    await throughput(tracker, lifecycles(active, 'a', false), 32);
    const after = await usedMemory();
    const sample = await redis.keys('mem:{tenant-0}:call:*');
    let hashBytes = 0;
    for (const key of sample.slice(0, 200)) hashBytes += Number(await redis.memory('USAGE', key));
    const perHash = hashBytes / Math.min(200, sample.length);
    row(
      'redis store: used_memory per active call',
      `${active} active`,
      '',
      '',
      `${Math.round((after - before) / active)} B`,
    );
    row(
      'redis store: MEMORY USAGE of one call hash',
      'avg of 200',
      '',
      '',
      `${Math.round(perHash)} B`,
    );
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

const header = ['case', 'size', 'bare bus.publish', 'tracker.ingest', 'ratio / figure'];
const widths = header.map((title, column) =>
  Math.max(title.length, ...rows.map((cells) => (cells[column] ?? '').length)),
);
const line = (cells: string[]) =>
  cells.map((cell, column) => (cell ?? '').padEnd(widths[column]!)).join(' | ');
console.log(line(header));
console.log(widths.map((width) => '-'.repeat(width)).join('-|-'));
for (const cells of rows) console.log(line(cells));
console.log(
  `\nnode ${process.version}, ${tenants} tenants, events awaited one by one unless "in flight" says otherwise.`,
);

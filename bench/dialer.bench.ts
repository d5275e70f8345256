// Dialer benchmark, in one run:
// 1. Claims per second on Redis against a bare `SET NX` (the physical floor of one atomic write)
//    and against the seed's way (a per-lead `SET NX` lock, mark, unlock), at the same concurrency
//    (one at a time, then 8 in flight), with the CPU each costs per claim in this process and in
//    the Redis server: on a machine whose cores the bench and Redis share, the sum bounds the
//    rate once both are busy.
// 2. Claims per second on PostgreSQL against a bare `UPDATE … RETURNING` at the same concurrency.
// 3. A paced run: 10,000 leads (BENCH_COUNT) at 50 calls per second, shared by four
//    processes through Redis; the rate the provider saw against the rate asked for, the most
//    calls it saw in any one second, and the most calls the pacers let start in any one second
//    (by the clock they pace on: the figure their bound, 55 at 50/s, is about).
// Redis figures use a redis-server of their own; PostgreSQL uses the machine's (skipped if absent).
//   node --import tsx --conditions=@calltrack/source --expose-gc bench/dialer.bench.ts
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { LeadInput, LeadStore } from '@calltrack/dialer';
import { createPostgresLeadStore, postgresLeadStoreMigration } from '@calltrack/dialer/postgres';
import { createRedisLeadStore } from '@calltrack/dialer/redis';
import {
  connectTestPostgres,
  spawnTypeScript,
  startRedisServer,
  uniqueTableName,
  waitForExit,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { perSecond, printTable, ratio } from './lib/report';

// Claims are measured one at a time (a run claims lead by lead) and with 8 in flight.
let concurrency = 1;
const claimCount = 2_000;
const pacedLeads = Number(process.env.BENCH_COUNT ?? 10_000);
const pacedRate = 50;
const processes = 4;

const leads = (count: number, run: string): LeadInput[] =>
  Array.from({ length: count }, (_, index) => ({
    tenantId: 'bench',
    leadId: `${run}-${String(index).padStart(7, '0')}`,
    userId: `user-${index % 40}`,
    phoneNumber: '+14155550100',
    timeZone: 'UTC',
  }));

/** The most of `times` (ms) that fall in any one half-open second, wherever it starts. */
function mostInAnySecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last += 1) {
    while (sorted[last]! - sorted[first]! >= 1000) first += 1;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** Operations per second, `concurrency` in flight, each doing `operation(index)`. */
async function rate(
  count: number,
  operation: (index: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await operation(index);
      }
    }),
  );
  return perSecond(count, performance.now() - started);
}

/** A Redis path's best rate over the rounds, and its median CPU per operation on each side. */
interface RedisPath {
  rates: number[];
  nodeMicros: number[];
  redisMicros: number[];
}

const redisPath = (): RedisPath => ({ rates: [], nodeMicros: [], redisMicros: [] });

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * An operation claiming the `index`th lead of `run`, one lead per claim, with the lead as its
 * gates checked it (as a run does).
 */
function claimOne(store: LeadStore, run: string, count: number) {
  const checked = leads(count, run).map(({ leadId, userId, phoneNumber, timeZone }) => ({
    leadId,
    userId,
    phoneNumber,
    timeZone,
  }));
  return async (index: number): Promise<void> => {
    const lead = checked[index]!;
    const [result] = await store.claimLeads({
      tenantId: 'bench',
      leadIds: [lead.leadId],
      now: Date.now(),
      leaseMs: 60_000,
      claimedBy: 'bench',
      checked: [lead],
    });
    if (!result?.claimed) throw new Error(`not claimed: ${lead.leadId}`);
  };
}

const claimAll = (store: LeadStore, run: string, count: number): Promise<number> =>
  rate(count, claimOne(store, run, count));

const redisServer = await startRedisServer();
const redis = new Redis(redisServer.url);

/** The server's CPU time so far, in µs (the bench's own redis-server: nobody else's work). */
async function redisCpuMicros(): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** {@link rate}, adding its rate and its CPU per operation (this process, Redis) to `path`. */
async function measureRedis(
  path: RedisPath,
  count: number,
  operation: (index: number) => Promise<unknown>,
): Promise<void> {
  const redisBefore = await redisCpuMicros();
  const nodeBefore = process.cpuUsage();
  path.rates.push(await rate(count, operation));
  const node = process.cpuUsage(nodeBefore);
  path.redisMicros.push(((await redisCpuMicros()) - redisBefore) / count);
  path.nodeMicros.push((node.user + node.system) / count);
}

const redisRow = (what: string, path: RedisPath, baseline: RedisPath) => {
  const cpu = (of: RedisPath) => median(of.nodeMicros) + median(of.redisMicros);
  return {
    what,
    perSecond: Math.max(...path.rates),
    ratio: ratio(Math.max(...path.rates), Math.max(...baseline.rates)),
    'node µs': Math.round(median(path.nodeMicros) * 10) / 10,
    'redis µs': Math.round(median(path.redisMicros) * 10) / 10,
    'CPU ratio': ratio(cpu(baseline), cpu(path)),
  };
};

try {
  for (const level of [1, 8]) {
    concurrency = level;
    // 1. Redis.
    // Best of three interleaved rounds: the machine is shared, and one slow second would decide a
    // single measurement.
    const store = createRedisLeadStore({ redis, prefix: 'bench:store' });
    if (concurrency === 1) {
      // Warm-up: every path once, so the script is loaded and the JIT has seen each.
      await store.addLeads(leads(claimCount, 'warm'));
      await claimAll(store, 'warm', claimCount);
      await rate(claimCount, (index) => redis.set(`bench:warm:${index}`, '1', 'PX', 60_000, 'NX'));
    }
    const [bare, seed, claims] = [redisPath(), redisPath(), redisPath()];
    for (let round = 0; round < 3; round += 1) {
      await store.addLeads(leads(claimCount, `${concurrency}-redis${round}`));
      await measureRedis(bare, claimCount, (index) =>
        redis.set(`bench:bare:${concurrency}:${round}:${index}`, '1', 'PX', 60_000, 'NX'),
      );
      await measureRedis(seed, claimCount, async (index) => {
        const lock = `bench:seed:lock:${concurrency}:${round}:${index}`;
        if ((await redis.set(lock, 'token', 'PX', 30_000, 'NX')) !== 'OK') return;
        await redis.hset(
          `bench:seed:lead:${concurrency}:${round}:${index}`,
          'has_been_called',
          'true',
        );
        await redis.del(lock);
      });
      await measureRedis(
        claims,
        claimCount,
        claimOne(store, `${concurrency}-redis${round}`, claimCount),
      );
    }
    printTable(
      `Claims per second on Redis (${claimCount} leads, ${concurrency} in flight; best of 3 rounds, CPU per claim their median)`,
      [
        redisRow('bare SET NX PX (baseline)', bare, bare),
        redisRow("seed's lock + mark + unlock (peer)", seed, bare),
        redisRow('dialer claim (Lua: mark + attempt + fence)', claims, bare),
      ],
    );

    // 2. PostgreSQL.
    const pool = await connectTestPostgres({ max: concurrency });
    if (pool) {
      const table = uniqueTableName('bench_leads');
      const attemptsTable = `${table}_attempts`;
      const bareTable = uniqueTableName('bench_bare');
      try {
        await pool.query(postgresLeadStoreMigration({ table, attemptsTable }));
        await pool.query(
          `CREATE TABLE ${bareTable} (tenant_id text, id text, has_been_called boolean NOT NULL DEFAULT false, PRIMARY KEY (tenant_id, id))`,
        );
        const pgStore = createPostgresLeadStore({ pool, table, attemptsTable });
        let bareUpdate = 0;
        let pgClaims = 0;
        for (let round = 0; round < 3; round += 1) {
          await pgStore.addLeads(leads(claimCount, `${concurrency}-pg${round}`));
          const ids = leads(claimCount, `${concurrency}-pg${round}`).map((lead) => lead.leadId);
          await pool.query(
            `INSERT INTO ${bareTable} (tenant_id, id) SELECT 'bench', unnest($1::text[])`,
            [ids],
          );
          bareUpdate = Math.max(
            bareUpdate,
            await rate(claimCount, async (index) => {
              const { rowCount } = await pool.query({
                name: 'bench-bare-update',
                text: `UPDATE ${bareTable} SET has_been_called = true WHERE tenant_id = 'bench' AND id = $1 AND has_been_called = false RETURNING id`,
                values: [ids[index]],
              });
              if (rowCount !== 1) throw new Error('bare update missed');
            }),
          );
          pgClaims = Math.max(
            pgClaims,
            await claimAll(pgStore, `${concurrency}-pg${round}`, claimCount),
          );
        }
        printTable(
          `Claims per second on PostgreSQL (${claimCount} leads, ${concurrency} in flight)`,
          [
            { what: 'bare UPDATE … RETURNING (baseline)', perSecond: bareUpdate, ratio: 1 },
            {
              what: 'dialer claim (conditional UPDATE RETURNING + attempt INSERT)',
              perSecond: pgClaims,
              ratio: ratio(pgClaims, bareUpdate),
            },
          ],
        );
      } finally {
        await pool.query(`DROP TABLE IF EXISTS ${table}, ${attemptsTable}, ${bareTable}`);
        await pool.end();
      }
    } else {
      console.log('PostgreSQL not reachable: its claims were not measured.');
    }
  }

  // 3. A paced run across four processes.
  const callTimes: number[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      callTimes.push(performance.now());
      response.end(`call-${callTimes.length}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const callsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/calls`;
  const pacedStore = createRedisLeadStore({ redis, prefix: 'bench:paced:store' });
  await pacedStore.addLeads(leads(pacedLeads, 'paced'));
  const worker = fileURLToPath(new URL('./lib/dialer-bench-worker.ts', import.meta.url));
  const starts: number[] = [];
  const children = Array.from({ length: processes }, () =>
    spawnTypeScript(worker, {
      onLine: (line) => {
        if (line.startsWith('starts ')) starts.push(...(JSON.parse(line.slice(7)) as number[]));
      },
      args: [
        JSON.stringify({
          redisUrl: redisServer.url,
          prefix: 'bench:paced',
          callsUrl,
          users: 40,
          callsPerSecond: pacedRate,
        }),
      ],
    }),
  );
  await Promise.all(children.map(waitForExit));
  server.close();
  const seconds = (callTimes.at(-1)! - callTimes[0]!) / 1000;
  const achieved = Math.round(((callTimes.length - 1) / seconds) * 100) / 100;
  // What a provider that allows `pacedRate` calls per second sees: the most calls in any one
  // second, wherever it starts (a burst over the rate is refused, whatever the average). The
  // provider's figure also carries what comes after the pacer (claim, HTTP, two busy cores);
  // the pacers' own starts are what they bound.
  const mostInASecond = mostInAnySecond(callTimes);
  const mostStartedInASecond = mostInAnySecond(starts);
  printTable(
    `A run over ${pacedLeads} leads paced at ${pacedRate}/s across ${processes} processes`,
    [
      { what: 'asked for', callsPerSecond: pacedRate, ratio: 1 },
      {
        what: `placed (${callTimes.length} calls in ${seconds.toFixed(1)} s)`,
        callsPerSecond: achieved,
        ratio: ratio(achieved, pacedRate),
      },
      {
        what: 'most calls in any one second (as the provider saw them)',
        callsPerSecond: mostInASecond,
        ratio: ratio(mostInASecond, pacedRate),
      },
      {
        what: `most of the pacers' ${starts.length} starts in any one second (bound ${pacedRate + Math.ceil(pacedRate / 10)})`,
        callsPerSecond: mostStartedInASecond,
        ratio: ratio(mostStartedInASecond, pacedRate),
      },
    ],
  );
  if (callTimes.length !== pacedLeads)
    throw new Error(`expected ${pacedLeads} calls, got ${callTimes.length}`);
} finally {
  redis.disconnect();
  await redisServer.stop();
}

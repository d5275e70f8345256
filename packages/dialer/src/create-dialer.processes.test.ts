import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  connectTestPostgres,
  connectTestRedis,
  dropTables,
  spawnTypeScript,
  startPersistentRedisServer,
  startRedisServer,
  testPostgresUrl,
  uniquePrefix,
  uniqueTableName,
} from '@calltrack/test-utils';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  countCrashLeads,
  crashKind,
  crashLeads,
  crashNumber,
  crashTenant,
} from './__tests__/crash-scenario';
import { type ProviderServer, startProviderServer } from './__tests__/provider-server';
import { createDialer } from './create-dialer';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createRedisLeadStore } from './create-redis-lead-store';
import type { Lead } from './lead';
import type { LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

// Four dialer processes over 2,500 leads, killed with SIGKILL at random and restarted, with
// Redis crashed and restarted once: no lead is called twice, and every lead ends called, skipped
// with a reason, or orphaned for review. The kills and the Redis crash are timed by the calls
// placed (not only by the clock), so they land mid-run however fast the machine is: 2,500 leads
// prove what 10,000 did (run those with DIALER_CRASH_LEADS=10000) in a quarter of the time.
const leadCount = Number(process.env.DIALER_CRASH_LEADS ?? 2_500);
// The same on a Redis lead store, smaller: the brief's run is PostgreSQL's.
const redisLeadCount = Number(process.env.DIALER_CRASH_REDIS_LEADS ?? 1_250);
// Kills at this many points of the run, spread at random over its calls.
const killsMidRun = 8;
const workers = 4;
const worker = fileURLToPath(new URL('./__tests__/dialer-worker-process.ts', import.meta.url));
const probeRedis = await connectTestRedis();
const pool = await connectTestPostgres({ max: 8 });
probeRedis?.disconnect();

afterAll(async () => {
  await pool?.end();
});

interface Outcome {
  byStatus: Record<string, number>;
  called: number;
  skipped: Record<string, number>;
  orphaned: number;
  unfinished: number;
  duplicates: number;
  kills: number;
  /** Kills made while calls were still being placed (at a random share of the run's calls). */
  killsMidRun: number;
  /** Calls placed when Redis was crashed: a third of the leads, so mid-run. */
  callsAtRedisCrash: number;
  providerCalls: number;
}

async function crashRun(
  count: number,
  options: {
    store: LeadStore;
    storeName: 'postgres' | 'redis';
    redisUrl: string;
    storeRedisUrl: string;
    table?: string;
    attemptsTable?: string;
    prefix: string;
    crashRedis: () => Promise<void>;
    /** Leads still in flight or not yet looked at: one cheap query. */
    countUnfinished: () => Promise<number>;
  },
): Promise<Outcome> {
  const children = new Set<ChildProcess>();
  const slots: ChildProcess[] = [];
  let kills = 0;
  const killOne = (): void => {
    // kill -9 a random worker and start another in its place.
    const victim = Math.floor(Math.random() * workers);
    slots[victim]?.kill('SIGKILL');
    kills += 1;
    slots[victim] = spawnWorker(victim);
  };
  // Points of the run (calls placed) where a worker is killed, and where Redis is crashed.
  const killAt = Array.from({ length: killsMidRun }, () =>
    Math.floor(count * (0.05 + Math.random() * 0.8)),
  ).sort((a, b) => a - b);
  let killsDuringCalls = 0;
  let redisCrash: Promise<void> | undefined;
  let callsAtRedisCrash = 0;
  let running = true;
  const provider: ProviderServer = await startProviderServer({
    onCall: () => {
      if (!running) return;
      const placed = provider.calls.length;
      while (killAt.length > 0 && placed >= killAt[0]!) {
        killAt.shift();
        killOne();
        killsDuringCalls += 1;
      }
      if (!redisCrash && placed > count / 3) {
        callsAtRedisCrash = placed;
        redisCrash = options.crashRedis();
      }
    },
  });
  const env = (id: number) => ({
    CRASH_WORKER: JSON.stringify({
      worker: String(id),
      store: options.storeName,
      redisUrl: options.redisUrl,
      storeRedisUrl: options.storeRedisUrl,
      postgresUrl: testPostgresUrl,
      table: options.table,
      attemptsTable: options.attemptsTable,
      prefix: options.prefix,
      provider: {
        url: provider.url,
        accountSid: provider.accountSid,
        authToken: provider.authToken,
      },
      leadCount: count,
    }),
  });
  const spawnWorker = (id: number): ChildProcess => {
    const child = spawnTypeScript(worker, { env: env(id) });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  try {
    for (let index = 0; index < count; index += 1) {
      const kind = crashKind(index);
      if (kind === 'refuse' || kind === 'fail-after') provider.faults.set(crashNumber(index), kind);
    }
    await options.store.addLeads(crashLeads(count));
    for (let id = 0; id < workers; id += 1) slots.push(spawnWorker(id));

    // Besides the kills timed by the calls, one every 3–6 s, also while the leftovers are
    // reconciled; done when no lead is left to look at twice in a row (polled every 0.5 s).
    const deadline = Date.now() + 300_000;
    let nextKill = Date.now() + 3000 + Math.random() * 3000;
    let quietPolls = 0;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (Date.now() >= nextKill) {
        killOne();
        nextKill = Date.now() + 3000 + Math.random() * 3000;
      }
      await redisCrash;
      const unfinished = await options.countUnfinished();
      quietPolls = unfinished === 0 ? quietPolls + 1 : 0;
      if (quietPolls >= 2 && redisCrash) break;
    }
    running = false;
    for (const child of children) child.kill('SIGKILL');

    // What is still claimed or unknown once every lease ran out is orphaned for review.
    const reviewer = createDialer({
      store: options.store,
      bus: { publish: async () => ({ duplicate: false }) },
      accounts: [
        {
          id: 'review',
          control: {
            provider: 'none',
            placeCall: async () => {
              throw new Error('never');
            },
            terminateCall: async () => {},
          },
        },
      ],
      clock: { now: () => Date.now() + 3_600_000, sleep: async () => {} },
      logger: {},
    });
    while ((await reviewer.reconcile()).orphaned > 0) {}

    const leads = await readAll(options.store, count);
    const outcome: Outcome = {
      byStatus: {},
      called: 0,
      skipped: {},
      orphaned: 0,
      unfinished: 0,
      duplicates: 0,
      kills,
      killsMidRun: killsDuringCalls,
      callsAtRedisCrash,
      providerCalls: provider.calls.length,
    };
    for (const lead of leads) {
      outcome.byStatus[lead.callStatus] = (outcome.byStatus[lead.callStatus] ?? 0) + 1;
      const calls = provider.callsTo(lead.phoneNumber);
      if (calls > 1) outcome.duplicates += 1;
      if (lead.callStatus === 'placed' || lead.callStatus === 'completed') {
        outcome.called += 1;
        expect(calls, lead.leadId).toBe(1);
      } else if (lead.callStatus === 'orphaned') {
        outcome.orphaned += 1;
      } else if (lead.callStatus === 'pending' && lead.skipReason !== undefined) {
        outcome.skipped[lead.skipReason] = (outcome.skipped[lead.skipReason] ?? 0) + 1;
        expect(calls, lead.leadId).toBe(0);
      } else {
        outcome.unfinished += 1;
      }
    }
    expect(leads).toHaveLength(count);
    return outcome;
  } finally {
    running = false;
    for (const child of children) child.kill('SIGKILL');
    await redisCrash;
    await provider.close();
  }
}

async function readAll(store: LeadStore, count: number): Promise<Lead[]> {
  const ids = crashLeads(count).map((lead) => lead.leadId);
  const leads: Lead[] = [];
  for (let start = 0; start < ids.length; start += 200) {
    const batch = await Promise.all(
      ids.slice(start, start + 200).map((leadId) => store.getLead(crashTenant, leadId)),
    );
    for (const lead of batch) if (lead) leads.push(lead);
  }
  return leads;
}

function expectEveryLeadAccountedFor(name: string, outcome: Outcome, count: number): void {
  console.log(`dialer crash test (${name}): ${JSON.stringify(outcome)}`);
  expect(outcome.duplicates).toBe(0);
  expect(outcome.unfinished).toBe(0);
  expect(
    outcome.called + outcome.orphaned + Object.values(outcome.skipped).reduce((a, b) => a + b, 0),
  ).toBe(count);
  // The gates and the refusals ended as skips with their reasons.
  expect(Object.keys(outcome.skipped).sort()).toEqual(
    ['attempt_cap', 'do_not_call', 'invalid_phone', 'missing_time_zone'].filter(
      (reason) => (outcome.skipped[reason] ?? 0) > 0,
    ),
  );
  expect(outcome.skipped.do_not_call).toBe(countCrashLeads('do-not-call', count));
  expect(outcome.skipped.invalid_phone).toBe(countCrashLeads('bad-phone', count));
  expect(outcome.skipped.missing_time_zone).toBe(countCrashLeads('no-zone', count));
  // The run was cut into while it placed calls, and Redis crashed a third of the way through.
  expect(outcome.killsMidRun).toBe(killsMidRun);
  expect(outcome.callsAtRedisCrash).toBeLessThan(count / 2);
}

describe.skipIf(!pool || !probeRedis)('four dialer processes, kill -9 at random', () => {
  it(`PostgreSQL leads, Redis locks and pacing (Redis crashed, restarted empty): ${leadCount} leads, none called twice, none lost`, async () => {
    const redis = await startRedisServer();
    const table = uniqueTableName('crash');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const outcome = await crashRun(leadCount, {
        store: createPostgresLeadStore({ pool: pool!, table, attemptsTable }),
        storeName: 'postgres',
        redisUrl: redis.url,
        storeRedisUrl: redis.url,
        table,
        attemptsTable,
        prefix: uniquePrefix('dialer-crash'),
        crashRedis: async () => {
          await redis.kill();
          await redis.restart();
        },
        countUnfinished: async () => {
          const { rows } = await pool!.query(
            `SELECT count(*)::integer AS unfinished FROM ${table}
             WHERE call_status IN ('dialing', 'unknown')
                OR (call_status = 'pending' AND dialer_skip_reason IS NULL)`,
          );
          return rows[0].unfinished as number;
        },
      });
      expectEveryLeadAccountedFor('postgres', outcome, leadCount);
    } finally {
      await redis.stop();
      await dropTables(pool!, [table, attemptsTable]);
    }
  }, 400_000);

  it(`Redis leads on a Redis with appendfsync always (crashed with kill -9, restarted with its data): ${redisLeadCount} leads, none called twice, none lost`, async () => {
    const redis = await startPersistentRedisServer();
    const client = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    client.on('error', () => {});
    const prefix = uniquePrefix('dialer-crash');
    try {
      const outcome = await crashRun(redisLeadCount, {
        store: createRedisLeadStore({ redis: client, prefix: `${prefix}:store` }),
        storeName: 'redis',
        redisUrl: redis.url,
        storeRedisUrl: redis.url,
        prefix,
        crashRedis: async () => {
          await redis.kill();
          await redis.restart();
        },
        countUnfinished: async () => {
          const pipeline = client.pipeline();
          for (const lead of crashLeads(redisLeadCount)) {
            pipeline.hmget(
              `${prefix}:store:{${crashTenant}}:lead:${lead.leadId}`,
              'callStatus',
              'skipReason',
            );
          }
          let unfinished = 0;
          for (const [error, reply] of (await pipeline.exec()) ?? []) {
            const [status, skip] = (error ? [] : reply) as (string | null)[];
            if (status === 'dialing' || status === 'unknown' || (status === 'pending' && !skip)) {
              unfinished += 1;
            }
          }
          return unfinished;
        },
      });
      expectEveryLeadAccountedFor('redis', outcome, redisLeadCount);
    } finally {
      client.disconnect();
      await redis.stop();
    }
  }, 400_000);
});

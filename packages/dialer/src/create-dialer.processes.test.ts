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
import { crashKind, crashLeads, crashNumber, crashTenant } from './__tests__/crash-scenario';
import { type ProviderServer, startProviderServer } from './__tests__/provider-server';
import { createDialer } from './create-dialer';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createRedisLeadStore } from './create-redis-lead-store';
import type { Lead } from './lead';
import type { LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

// Four dialer processes over 10,000 leads, killed with SIGKILL at random and restarted, with
// Redis crashed and restarted once: no lead is called twice, and every lead ends called, skipped
// with a reason, or orphaned for review.
const leadCount = Number(process.env.DIALER_CRASH_LEADS ?? 10_000);
// The same on a Redis lead store, smaller: the brief's run is PostgreSQL's.
const redisLeadCount = Number(process.env.DIALER_CRASH_REDIS_LEADS ?? 5_000);
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
  const provider: ProviderServer = await startProviderServer();
  const children = new Set<ChildProcess>();
  try {
    for (let index = 0; index < count; index += 1) {
      const kind = crashKind(index);
      if (kind === 'refuse' || kind === 'fail-after') provider.faults.set(crashNumber(index), kind);
    }
    await options.store.addLeads(crashLeads(count));
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
    const slots = Array.from({ length: workers }, (_, id) => spawnWorker(id));

    let kills = 0;
    let redisCrashed = false;
    const deadline = Date.now() + 300_000;
    let quietPolls = 0;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 3000 + Math.random() * 3000));
      // kill -9 a random worker and start another in its place.
      const victim = Math.floor(Math.random() * workers);
      slots[victim]!.kill('SIGKILL');
      kills += 1;
      slots[victim] = spawnWorker(victim);
      if (!redisCrashed && provider.calls.length > count / 3) {
        redisCrashed = true;
        await options.crashRedis();
      }
      const unfinished = await options.countUnfinished();
      quietPolls = unfinished === 0 ? quietPolls + 1 : 0;
      if (quietPolls >= 2 && redisCrashed) break;
    }
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
    for (const child of children) child.kill('SIGKILL');
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
  expect(outcome.skipped.do_not_call).toBe(count / 100);
  expect(outcome.skipped.invalid_phone).toBe(count / 100);
  expect(outcome.skipped.missing_time_zone).toBe(count / 100);
  expect(outcome.kills).toBeGreaterThan(0);
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

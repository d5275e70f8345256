// A dialer process of the crash test: triggers every user's run, again and again, reconciling
// between rounds, until it is killed (kill -9 by the test, at random). Leads live in PostgreSQL
// or Redis; locks and pacing on Redis. Prints "ready" once, then a line per round.
import type { CallEvent } from '@calltrack/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDialer } from '../create-dialer';
import { createPostgresLeadStore } from '../create-postgres-lead-store';
import { createRedisCallPacer } from '../create-redis-call-pacer';
import { createRedisDialerLocks } from '../create-redis-dialer-locks';
import { createRedisLeadStore } from '../create-redis-lead-store';
import type { LeadStore } from '../lead-store';
import { crashKind, crashNumber, crashTenant, crashUsers } from './crash-scenario';
import { createTestCallControl } from './create-test-call-control';

const config = JSON.parse(process.env.CRASH_WORKER ?? '{}') as {
  worker: string;
  store: 'postgres' | 'redis';
  redisUrl: string;
  storeRedisUrl: string;
  postgresUrl: string;
  table: string;
  attemptsTable: string;
  prefix: string;
  provider: { url: string; accountSid: string; authToken: string };
  leadCount: number;
};

const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
redis.on('error', () => {});
let store: LeadStore;
if (config.store === 'postgres') {
  const pool = new pg.Pool({ connectionString: config.postgresUrl, max: 8 });
  pool.on('error', () => {});
  store = createPostgresLeadStore({
    pool,
    table: config.table,
    attemptsTable: config.attemptsTable,
  });
} else {
  const storeRedis = new Redis(config.storeRedisUrl, { maxRetriesPerRequest: 2 });
  storeRedis.on('error', () => {});
  store = createRedisLeadStore({ redis: storeRedis, prefix: `${config.prefix}:store` });
}
const doNotCall = new Set<string>();
for (let index = 0; index < config.leadCount; index += 1) {
  if (crashKind(index) === 'do-not-call') doNotCall.add(crashNumber(index));
}

const dialer = createDialer({
  store,
  bus: { publish: async (_event: CallEvent) => ({ duplicate: false }) },
  accounts: [
    {
      id: 'crash-account',
      control: createTestCallControl({ ...config.provider, baseUrl: config.provider.url }),
      callsPerSecond: 5000,
    },
  ],
  locks: createRedisDialerLocks({ redis, prefix: `${config.prefix}:lock` }),
  pacer: createRedisCallPacer({ redis, prefix: `${config.prefix}:pace` }),
  callingWindow: { hours: { start: '00:00', end: '24:00' } },
  isDoNotCall: (lead) => doNotCall.has(lead.phoneNumber),
  maxAttempts: 2,
  minAttemptGapMs: 0,
  maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
  attemptLeaseMs: 2_000,
  unknownSettleMs: 1_000,
  runLeaseMs: 2_000,
  leadLeaseMs: 5_000,
  placeCallTimeoutMs: 5_000,
  pageSize: 200,
  instanceId: `worker-${config.worker}-${process.pid}`,
  lookupCall: async (attempt) => {
    const response = await fetch(
      `${config.provider.url}/test/calls?reference=${attempt.attemptId}`,
    );
    const calls = (await response.json()) as { sid: string }[];
    return calls[0] ? { placed: true, callId: calls[0].sid } : { placed: false };
  },
  logger: {},
});

process.stdout.write('ready\n');
for (let round = 0; ; round += 1) {
  const users = Array.from({ length: crashUsers }, (_, index) => `user-${index}`).sort(
    () => Math.random() - 0.5,
  );
  const runs = await Promise.all(
    users.map((userId) => dialer.trigger({ tenantId: crashTenant, userId }).catch(() => undefined)),
  );
  let placed = 0;
  for (const run of runs) {
    if (run?.outcome !== 'started') continue;
    for (const summary of await run.finished) placed += summary.placed;
  }
  const reconciled = await dialer.reconcile().catch(() => undefined);
  process.stdout.write(`${JSON.stringify({ round, placed, reconciled })}\n`);
  await new Promise((resolve) => setTimeout(resolve, 50));
}

import {
  connectTestPostgres,
  connectTestRedis,
  deleteKeys,
  dropTables,
  uniquePrefix,
  uniqueTableName,
} from '@calltrack/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createRedisLeadStore } from './create-redis-lead-store';
import type { AttemptState } from './lead-attempt';
import type { LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

// Model-based: random sequences of claims, fenced writes and skips, run on the memory store (the
// reference) and on Redis and PostgreSQL; every answer and the final leads must agree. Attempt
// ids are random per store, so they are compared by the order they were made in.

const redis = await connectTestRedis();
const pool = await connectTestPostgres({ max: 4 });
const prefix = uniquePrefix('dialer-model');
const table = uniqueTableName('model');
const attemptsTable = `${table}_attempts`;
if (pool) await pool.query(postgresLeadStoreMigration({ table, attemptsTable }));

afterAll(async () => {
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  if (pool) {
    await dropTables(pool, [table, attemptsTable]);
    await pool.end();
  }
});

const leadIds = ['a', 'b', 'c'];
const states: AttemptState[] = ['claimed', 'placed', 'unknown', 'released', 'ended', 'orphaned'];

type Command =
  | { kind: 'claim'; leads: string[]; at: number; cap: boolean; gap: boolean }
  | {
      kind: 'update';
      attempt: number;
      lead: string;
      fenceDelta: -1 | 0 | 1;
      state: AttemptState;
      takeOver: boolean;
      callId: boolean;
    }
  | { kind: 'skip'; lead: string };

// Writes mostly carry the attempt's real token, so most of them get as far as the move's rules.
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('claim' as const),
      leads: fc.subarray(leadIds, { minLength: 1 }),
      at: fc.integer({ min: 0, max: 600_000 }),
      cap: fc.boolean(),
      gap: fc.boolean(),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      attempt: fc.nat({ max: 3 }),
      lead: fc.constantFrom(...leadIds),
      fenceDelta: fc.oneof(
        { arbitrary: fc.constant(0 as const), weight: 6 },
        { arbitrary: fc.constantFrom(-1 as const, 1 as const), weight: 1 },
      ),
      state: fc.constantFrom(...states),
      takeOver: fc.boolean(),
      callId: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('skip' as const), lead: fc.constantFrom(...leadIds) }),
    weight: 1,
  },
);

/** Runs commands on one store; returns its answers with attempt ids replaced by their order. */
async function play(store: LeadStore, tenantId: string, commands: Command[]): Promise<unknown[]> {
  const t0 = 1_000_000_000_000;
  const attempts: { id: string; lead: string; fence: number }[] = [];
  const order = (id: string | undefined): string | undefined => {
    if (id === undefined) return undefined;
    const index = attempts.findIndex((attempt) => attempt.id === id);
    return index === -1 ? 'unknown-id' : `#${index}`;
  };
  const plain = (value: unknown): unknown =>
    JSON.parse(
      JSON.stringify(value, (key, entry) =>
        key === 'attemptId' && typeof entry === 'string'
          ? order(entry)
          : key === 'tenantId'
            ? undefined
            : entry,
      ),
    );
  await store.addLeads(
    leadIds.map((leadId) => ({ tenantId, leadId, userId: 'u', phoneNumber: '+14155550100' })),
  );
  const answers: unknown[] = [];
  let time = t0;
  for (const step of commands) {
    if (step.kind === 'claim') {
      time = t0 + step.at;
      const results = await store.claimLeads({
        tenantId,
        leadIds: step.leads,
        now: time,
        leaseMs: 1000,
        claimedBy: 'model',
        ...(step.cap ? { maxAttempts: 2 } : {}),
        ...(step.gap ? { minAttemptGapMs: 120_000 } : {}),
      });
      for (const result of results) {
        if (result.claimed)
          attempts.push({
            id: result.attempt.attemptId,
            lead: result.leadId,
            fence: result.attempt.fence,
          });
      }
      answers.push(plain(results.sort((x, y) => x.leadId.localeCompare(y.leadId))));
    } else if (step.kind === 'update') {
      const target = attempts[step.attempt];
      const result = await store.updateAttempt({
        tenantId,
        leadId: target?.lead ?? step.lead,
        attemptId: target?.id ?? 'no-such-attempt',
        fence: (target?.fence ?? 1) + step.fenceDelta,
        state: step.state,
        now: time + 1,
        leaseMs: 500,
        ...(step.callId ? { provider: 'p', callId: `call-${step.attempt}` } : {}),
        ...(step.state === 'ended' ? { outcome: 'completed' as const } : {}),
        ...(step.takeOver ? { takeOver: true } : {}),
      });
      if (result.applied && target) target.fence = result.attempt.fence;
      answers.push(plain(result));
    } else {
      await store.recordSkips([
        { tenantId, leadId: step.lead, reason: 'outside_calling_window', now: time },
      ]);
      answers.push('skip');
    }
  }
  for (const leadId of leadIds) answers.push(plain(await store.getLead(tenantId, leadId)));
  for (const attempt of attempts) answers.push(plain(await store.getAttempt(tenantId, attempt.id)));
  return answers;
}

let run = 0;
describe('lead stores agree with the memory store on any sequence of claims and fenced writes', () => {
  it.each([
    ['redis', () => (redis ? createRedisLeadStore({ redis, prefix }) : undefined)],
    [
      'postgres',
      () => (pool ? createPostgresLeadStore({ pool, table, attemptsTable }) : undefined),
    ],
  ] as const)(
    '%s',
    async (_name, makeStore) => {
      const store = makeStore();
      if (!store) return;
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
          run += 1;
          const tenantId = `model-${process.pid}-${run}`;
          const expected = await play(createMemoryLeadStore(), tenantId, commands);
          const actual = await play(store, tenantId, commands);
          expect(actual).toEqual(expected);
        }),
        { numRuns: 150 },
      );
    },
    120_000,
  );
});

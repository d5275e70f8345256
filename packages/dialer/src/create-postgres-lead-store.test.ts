import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createMemoryBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import { type CallEvent, InvalidArgumentError } from '@calltrack/core';
import {
  connectTestPostgres,
  connectTestRedis,
  deleteKeys,
  dropTables,
  killAndWait,
  spawnTypeScript,
  testPostgresUrl,
  uniquePrefix,
  uniqueTableName,
  waitForExit,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { createReconcilingDialer } from './__tests__/create-reconciling-dialer';
import { checkLookupPastRemovedLeads } from './__tests__/look-up-past-removed-leads';
import { checkReconcilerPastRemovedLeads } from './__tests__/reconcile-past-removed-leads';
import { checkSkipsRecordedTogether } from './__tests__/skips-recorded-together';
import { checkUnrecordableCallAnswers } from './__tests__/unrecordable-call-answer';
import { createDialer } from './create-dialer';
import { createDialerHandler } from './create-dialer-handler';
import { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createTestClock } from './create-test-clock';
import { describeLeadStore } from './describe-lead-store';
import type { Lead } from './lead';
import type { AttemptUpdate, AttemptUpdateResult, LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';
import type { PostgresPool, PostgresPoolClient, PostgresQuery } from './postgres-pool';

const pool = await connectTestPostgres({ max: 10 });

afterAll(async () => {
  await pool?.end();
});

const tables = new WeakMap<LeadStore, string>();

describeLeadStore(
  { describe: describe.skipIf(!pool), it, afterEach },
  {
    name: 'postgres',
    createStore: async () => {
      const table = uniqueTableName('leads');
      const attemptsTable = `${table}_attempts`;
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      tables.set(store, table);
      return { store, cleanup: () => dropTables(pool!, [table, attemptsTable]) };
    },
    removeLead: async (store, tenantId, leadId) => {
      await pool!.query(`DELETE FROM ${tables.get(store)} WHERE tenant_id = $1 AND id = $2`, [
        tenantId,
        leadId,
      ]);
    },
  },
);

describe.skipIf(!pool)('createPostgresLeadStore on your own table', () => {
  it('ships a migration that is the generated SQL for the default names', async () => {
    const shipped = await readFile(
      new URL('../migrations/0001_dialer.sql', import.meta.url),
      'utf8',
    );
    expect(shipped).toBe(postgresLeadStoreMigration());
  });

  it('works over an existing table with its own names, and reads malformed rows as leads the gates can skip', async () => {
    const table = uniqueTableName('crm');
    const attemptsTable = `${table}_tries`;
    try {
      // The app's table, as it was before the dialer: integer ids, its own column names.
      await pool!.query(
        `CREATE TABLE ${table} (lead_no bigint PRIMARY KEY, company text NOT NULL, owner text NOT NULL,
         mobile text, tz text, status text NOT NULL DEFAULT 'pending', called boolean NOT NULL DEFAULT false)`,
      );
      await pool!.query(
        `INSERT INTO ${table} (lead_no, company, owner, mobile, tz) VALUES
         (1, 'acme', 'u1', '+14155550100', 'America/Chicago'), (2, 'acme', 'u1', NULL, NULL),
         (3, 'acme', 'u1', '+14155550103', NULL), (4, 'acme', 'u1', '+14155550104', 'Mars/Olympus'),
         (10, 'acme', 'u1', 'garbage', 'Mars/Olympus')`,
      );
      const names = {
        table,
        attemptsTable,
        columns: {
          leadId: 'lead_no',
          tenantId: 'company',
          userId: 'owner',
          phoneNumber: 'mobile',
          timeZone: 'tz',
          callStatus: 'status',
          hasBeenCalled: 'called',
        },
      };
      await pool!.query(postgresLeadStoreMigration(names));
      await pool!.query(postgresLeadStoreMigration(names)); // idempotent
      const store = createPostgresLeadStore({ pool: pool!, ...names });
      const pending = await store.listPendingLeads({ tenantId: 'acme', userId: 'u1', limit: 10 });
      expect(pending.map((lead) => [lead.leadId, lead.phoneNumber, lead.timeZone])).toEqual([
        ['1', '+14155550100', 'America/Chicago'],
        ['2', '', undefined],
        ['3', '+14155550103', undefined],
        ['4', '+14155550104', 'Mars/Olympus'],
        ['10', 'garbage', 'Mars/Olympus'],
      ]);
      // A run over them calls the good lead only; each malformed one is skipped with a reason.
      const dialled: string[] = [];
      const dialer = createDialer({
        store,
        bus: { publish: async () => ({ duplicate: false }) },
        accounts: [
          {
            id: 'test',
            control: {
              provider: 'test',
              placeCall: async (request) => {
                dialled.push(request.to);
                return {
                  provider: 'test',
                  callId: `call-${dialled.length}`,
                  reference: request.reference,
                };
              },
              terminateCall: async () => {},
            },
          },
        ],
        clock: createTestClock(Date.parse('2026-03-02T17:00:00Z')), // 11:00 in Chicago
        logger: {},
      });
      const run = await dialer.trigger({ tenantId: 'acme', userId: 'u1' });
      if (run.outcome === 'started') await run.finished;
      expect(dialled).toEqual(['+14155550100']);
      const reasons = [];
      for (const leadId of ['1', '2', '3', '4']) {
        const lead = await store.getLead('acme', leadId);
        reasons.push([leadId, lead?.callStatus, lead?.skipReason]);
      }
      expect(reasons).toEqual([
        ['1', 'placed', undefined],
        ['2', 'pending', 'invalid_phone'],
        ['3', 'pending', 'missing_time_zone'],
        ['4', 'pending', 'invalid_time_zone'],
      ]);
      const page = await store.listPendingLeads({
        tenantId: 'acme',
        userId: 'u1',
        afterLeadId: '3',
        limit: 10,
      });
      expect(page.map((lead) => lead.leadId)).toEqual(['4', '10']);
      const [claim] = await store.claimLeads({
        tenantId: 'acme',
        leadIds: ['10'],
        now: 1_000,
        leaseMs: 1_000,
        claimedBy: 'test',
      });
      expect(claim).toMatchObject({ claimed: true, lead: { leadId: '10', fence: 1 } });
      const row = await pool!.query(`SELECT status, called FROM ${table} WHERE lead_no = 10`);
      expect(row.rows[0]).toEqual({ status: 'dialing', called: true });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  // The app's table keys its leads by a bigint or a uuid (and may key tenants and users so too):
  // adding leads to it, listing, claiming, recording the call and reading the lead work in the
  // columns' own types.
  const nonTextIds = [
    {
      type: 'bigint ids',
      columns: 'id bigint, tenant_id text, user_id text',
      ids: ['7', '42', '1000000000001'],
      tenantId: 'acme',
      userId: 'u1',
    },
    {
      type: 'uuid ids',
      columns: 'id uuid, tenant_id text, user_id text',
      ids: [
        '0b6a4d1e-6f0e-4c55-9f1e-1f2a3b4c5d01',
        '5d8e9f10-1a2b-4c3d-8e4f-5a6b7c8d9e02',
        'f0e1d2c3-b4a5-4968-8776-655443322103',
      ],
      tenantId: 'acme',
      userId: 'u1',
    },
    {
      type: 'integer ids and integer users',
      columns: 'id integer, tenant_id text, user_id integer',
      ids: ['7', '42', '2147483647'],
      tenantId: 'acme',
      userId: '31',
    },
    {
      type: 'bigint ids, uuid tenants and bigint users',
      columns: 'id bigint, tenant_id uuid, user_id bigint',
      ids: ['7', '42', '1000000000001'],
      tenantId: '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d',
      userId: '31',
    },
  ];
  for (const { type, columns, ids, tenantId, userId } of nonTextIds) {
    it(`adds, claims and records leads in your own table with ${type}`, async () => {
      const table = uniqueTableName('typed');
      const attemptsTable = `${table}_attempts`;
      try {
        await pool!.query(
          `CREATE TABLE ${table} (${columns}, phone_number text, time_zone text,
           call_status text NOT NULL DEFAULT 'pending', has_been_called boolean NOT NULL DEFAULT false,
           PRIMARY KEY (tenant_id, id))`,
        );
        await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
        const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
        const leads = ids.map((leadId, index) => ({
          tenantId,
          leadId,
          userId,
          phoneNumber: `+1415555010${index}`,
          timeZone: 'UTC',
        }));
        // An id the column cannot hold is a bad lead (400, naming it), and nothing is added.
        await expect(
          store.addLeads([...leads, { ...leads[0]!, leadId: 'lead-x' }]),
        ).rejects.toMatchObject({ code: 'invalid_lead', status: 400, index: 3, field: 'leadId' });
        expect(await store.addLeads(leads)).toEqual({ added: 3, existing: 0, conflicts: [] });
        expect(await store.addLeads(leads)).toEqual({ added: 0, existing: 3, conflicts: [] });
        const pending = await store.listPendingLeads({ tenantId, userId, limit: 10 });
        expect(pending.map((lead) => lead.leadId).sort()).toEqual([...ids].sort());
        const dialled: string[] = [];
        const dialer = createDialer({
          store,
          bus: { publish: async () => ({ duplicate: false }) },
          accounts: [
            {
              id: 'test',
              control: {
                provider: 'test',
                placeCall: async (request) => {
                  dialled.push(request.to);
                  return { provider: 'test', callId: `call-${dialled.length}`, reference: '' };
                },
                terminateCall: async () => {},
              },
              callsPerSecond: 1000,
            },
          ],
          maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
          clock: createTestClock(Date.parse('2026-03-02T12:00:00Z')),
          logger: {},
        });
        const run = await dialer.trigger({ tenantId, userId });
        const [summary] = run.outcome === 'started' ? await run.finished : [];
        expect(summary).toMatchObject({ placed: 3, unknown: 0, notClaimed: 0 });
        expect(dialled.sort()).toEqual(leads.map((lead) => lead.phoneNumber).sort());
        for (const leadId of ids) {
          expect(await store.getLead(tenantId, leadId)).toMatchObject({
            tenantId,
            leadId,
            userId,
            callStatus: 'placed',
            hasBeenCalled: true,
          });
        }
        const attempts = await store.listAttempts({ tenantId, userId, limit: 10 });
        expect(attempts.map((attempt) => attempt.state)).toEqual(['placed', 'placed', 'placed']);
      } finally {
        await dropTables(pool!, [table, attemptsTable]);
      }
    });
  }

  it('claims and skips a lead by its primary key even when the statistics say no lead is pending', async () => {
    const table = uniqueTableName('stale');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      // Analyzed while every lead was called; then a new list is loaded, as a dialer's day goes.
      await pool!.query(
        `INSERT INTO ${table} (tenant_id, id, user_id, call_status, has_been_called)
         SELECT 'acme', 'old-' || n, 'u' || (n % 10), 'completed', true FROM generate_series(1, 5000) n`,
      );
      await pool!.query(`ANALYZE ${table}`);
      const sent: { text: string; values?: unknown[] }[] = [];
      const recording: PostgresPool = {
        query: (query, values) => {
          sent.push(typeof query === 'string' ? { text: query, values } : query);
          return pool!.query(query, values);
        },
        connect: () => pool!.connect(),
      };
      const store = createPostgresLeadStore({ pool: recording, table, attemptsTable });
      await store.addLeads(
        Array.from({ length: 2000 }, (_, n) => ({
          tenantId: 'acme',
          leadId: `new-${n}`,
          userId: `u${n % 10}`,
          phoneNumber: '+14155550100',
          timeZone: 'UTC',
        })),
      );
      sent.length = 0;
      const request = { tenantId: 'acme', now: 1_000, leaseMs: 1_000, claimedBy: 'test' };
      const [one] = await store.claimLeads({ ...request, leadIds: ['new-1'] });
      const many = await store.claimLeads({ ...request, leadIds: ['new-2', 'new-3'] });
      expect([one, ...many].map((claim) => claim?.claimed)).toEqual([true, true, true]);
      await store.recordSkips([
        { tenantId: 'acme', leadId: 'new-4', reason: 'do_not_call', now: 1 },
        { tenantId: 'acme', leadId: 'new-5', reason: 'too_soon', now: 1 },
      ]);
      const plans = await Promise.all(
        sent
          .filter((query) => query.text.includes(`UPDATE "${table}"`))
          .map(async (query) => {
            const { rows } = await pool!.query(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
            return JSON.stringify(rows[0]);
          }),
      );
      expect(plans).toHaveLength(3);
      for (const plan of plans) {
        // The pending index scanned for one row reads every pending lead of the tenant.
        expect(plan).toContain(`"Index Name":"${table}_pkey"`);
        expect(plan).not.toContain('dialer_pending');
      }
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('adds leads all or nothing: a bad lead or a failing later batch adds none', async () => {
    const table = uniqueTableName('batches');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      // The app's own rule, which the dialer does not know of: the second batch breaks it.
      await pool!.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_no_999 CHECK (phone_number NOT LIKE '+1999%')`,
      );
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      const leads = Array.from({ length: 1001 }, (_, n) => ({
        tenantId: 'acme',
        leadId: `lead-${n}`,
        userId: 'u1',
        phoneNumber: '+14155550100',
      }));
      // A NUL, which PostgreSQL cannot store: refused as a bad lead before anything is written.
      const withNul = leads.map((lead, n) =>
        n === 1000 ? { ...lead, leadId: 'lead\u0000' } : lead,
      );
      await expect(store.addLeads(withNul)).rejects.toMatchObject({
        code: 'invalid_lead',
        status: 400,
        index: 1000,
        field: 'leadId',
      });
      const refused = leads.map((lead, n) =>
        n === 1000 ? { ...lead, phoneNumber: '+19995550100' } : lead,
      );
      await expect(store.addLeads(refused)).rejects.toThrow(/_no_999/);
      const { rows } = await pool!.query(`SELECT count(*)::int AS count FROM ${table}`);
      expect(rows[0]).toEqual({ count: 0 });
      expect(await store.addLeads(leads)).toEqual({ added: 1001, existing: 0, conflicts: [] });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('lets the reconciler get past 500 expired attempts whose leads were deleted', async () => {
    const table = uniqueTableName('removed');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await checkReconcilerPastRemovedLeads(store, 'acme', async (leadIds) => {
        await pool!.query(`DELETE FROM ${table} WHERE tenant_id = 'acme' AND id = ANY($1)`, [
          leadIds,
        ]);
      });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('asks lookupCall about the placed calls of deleted leads once, not on every pass before the rest', async () => {
    const table = uniqueTableName('removed_placed');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await checkLookupPastRemovedLeads(store, 'acme', async (leadIds) => {
        await pool!.query(`DELETE FROM ${table} WHERE tenant_id = 'acme' AND id = ANY($1)`, [
          leadIds,
        ]);
      });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('takes a placeCall answer with a call id no store can keep as ambiguous: unknown, never dialled again, settled by webhooks or the reconciler', async () => {
    const table = uniqueTableName('unrecordable');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await checkUnrecordableCallAnswers(store, 'acme');
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('orphans an expired attempt whose lead your app reset, and leaves the lead as the app left it', async () => {
    const table = uniqueTableName('reset');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await store.addLeads([
        { tenantId: 'acme', leadId: 'lead-1', userId: 'u1', phoneNumber: '+14155550100' },
      ]);
      const t0 = Date.parse('2026-03-02T15:00:00.000Z');
      const [claim] = await store.claimLeads({
        tenantId: 'acme',
        leadIds: ['lead-1'],
        now: t0,
        leaseMs: 60_000,
        claimedBy: 'crashed',
      });
      if (!claim?.claimed) throw new Error('not claimed');
      // The app puts the lead back in the queue by hand, as a fresh lead.
      await pool!.query(
        `UPDATE ${table} SET call_status = 'pending', has_been_called = false, dialer_attempt_id = NULL
         WHERE tenant_id = 'acme' AND id = 'lead-1'`,
      );
      const dialer = createReconcilingDialer(store, createTestClock(t0 + 120_000));
      expect(await dialer.reconcile()).toEqual({ orphaned: 1, settled: 0 });
      expect(await dialer.reconcile()).toEqual({ orphaned: 0, settled: 0 });
      expect(await store.getAttempt('acme', claim.attempt.attemptId)).toMatchObject({
        state: 'orphaned',
        reason: 'lead_moved_on',
      });
      expect(await store.getLead('acme', 'lead-1')).toMatchObject({
        callStatus: 'pending',
        hasBeenCalled: false,
        attemptId: undefined,
      });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('names a lead whose row has no owner as a conflict when it is added again, and leaves the row as it is', async () => {
    const table = uniqueTableName('ownerless');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      // A row of your table without an owner (the column allows NULL in your schema).
      await pool!.query(`ALTER TABLE ${table} ALTER COLUMN user_id DROP NOT NULL`);
      await pool!.query(
        `INSERT INTO ${table} (tenant_id, id, user_id, phone_number) VALUES ('acme', 'lead-1', NULL, '+14155550100')`,
      );
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      expect(
        await store.addLeads([
          { tenantId: 'acme', leadId: 'lead-1', userId: 'u1', phoneNumber: '+14155550199' },
          { tenantId: 'acme', leadId: 'lead-2', userId: 'u1', phoneNumber: '+14155550102' },
        ]),
      ).toEqual({ added: 1, existing: 0, conflicts: [{ tenantId: 'acme', leadId: 'lead-1' }] });
      const { rows } = await pool!.query(
        `SELECT user_id, phone_number FROM ${table} WHERE tenant_id = 'acme' AND id = 'lead-1'`,
      );
      expect(rows).toEqual([{ user_id: null, phone_number: '+14155550100' }]);
      expect((await store.getLead('acme', 'lead-1'))?.userId).toBe('');
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('refuses names that are not plain identifiers', () => {
    expect(() =>
      createPostgresLeadStore({ pool: pool!, table: 'leads; DROP TABLE users' }),
    ).toThrow(InvalidArgumentError);
    expect(() => postgresLeadStoreMigration({ columns: { callStatus: 'status"--' } })).toThrow(
      /columns.callStatus must be a plain SQL identifier/,
    );
  });
});

// Your CRM edits its rows while a run goes: the number dialled is one the gates passed, for the row
// as it is when claimed.
describe.skipIf(!pool)('a lead your app edits between its gates and its claim', () => {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z'); // 10:00 in New York, 00:00 in Tokyo

  async function runWhileEditing(edit: string) {
    const table = uniqueTableName('edited');
    const attemptsTable = `${table}_attempts`;
    await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
    try {
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await store.addLeads(
        ['a', 'b'].map((leadId, index) => ({
          tenantId: 'acme',
          leadId,
          userId: 'u1',
          phoneNumber: `+1415555010${index}`,
          timeZone: 'America/New_York',
        })),
      );
      const doNotCall = createMemoryDoNotCallList();
      await doNotCall.add('acme', ['+14155550199']);
      const dialled: string[] = [];
      let slots = 0;
      const dialer = createDialer({
        store,
        bus: { publish: async () => ({ duplicate: false }) },
        doNotCall,
        accounts: [
          {
            id: 'test',
            control: {
              provider: 'test',
              placeCall: async (request) => {
                dialled.push(request.to);
                return { provider: 'test', callId: `call-${dialled.length}`, reference: '' };
              },
              terminateCall: async () => {},
            },
          },
        ],
        // b's wait for its pacing slot: the app edits b's row meanwhile.
        pacer: {
          acquire: async () => {
            slots += 1;
            if (slots === 2) await pool!.query(`UPDATE ${table} SET ${edit} WHERE id = 'b'`);
          },
        },
        maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
        clock: createTestClock(t0),
        logger: {},
      });
      const run = await dialer.trigger({ tenantId: 'acme', userId: 'u1' });
      const [summary] = run.outcome === 'started' ? await run.finished : [];
      return {
        dialled,
        summary,
        b: await store.getLead('acme', 'b'),
        attempts: await store.listAttempts({ tenantId: 'acme', limit: 10 }),
        dialer,
      };
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  }

  it('does not dial a number put on the lead after its gates passed (a do-not-call number)', async () => {
    const { dialled, summary, b, attempts } = await runWhileEditing(
      "phone_number = '+14155550199'",
    );
    expect(dialled).toEqual(['+14155550100']);
    expect(summary).toMatchObject({ placed: 1, notClaimed: 1 });
    expect(b).toMatchObject({ callStatus: 'pending', hasBeenCalled: false, attemptCount: 0 });
    expect(attempts.map((attempt) => attempt.leadId)).toEqual(['a']);
  });

  it("does not dial a lead moved to another user and zone after its gates passed (u1's run, 00:00 in Tokyo)", async () => {
    const { dialled, b, attempts } = await runWhileEditing(
      "user_id = 'u2', time_zone = 'Asia/Tokyo'",
    );
    expect(dialled).toEqual(['+14155550100']);
    expect(b).toMatchObject({ userId: 'u2', callStatus: 'pending', attemptCount: 0 });
    expect(attempts.map((attempt) => [attempt.leadId, attempt.userId])).toEqual([['a', 'u1']]);
  });
});

// Your own table with typed or length-limited columns: a value is stored as given or refused (400),
// never cut or respelled; an id the column cannot hold is found nowhere (404), not a 500.
/** `pool`, counting the statements sent through it and through the clients it lends. */
function countStatements(
  through: PostgresPool,
  onClientQuery?: (text: string, client: PostgresPoolClient) => Promise<void>,
): { pool: PostgresPool; sent: () => number } {
  let sent = 0;
  const text = (query: PostgresQuery | string) => (typeof query === 'string' ? query : query.text);
  return {
    pool: {
      query: (query, values) => {
        sent += 1;
        return through.query(query, values);
      },
      connect: async () => {
        const client = await through.connect();
        return {
          query: async (query, values) => {
            sent += 1;
            await onClientQuery?.(text(query), client);
            return await client.query(query, values);
          },
          release: () => client.release(),
        };
      },
    },
    sent: () => sent,
  };
}

/** `count` leads of acme claimed at `t0` by a process that died: every attempt expired by `t0 + 120 s`. */
async function leaveExpiredClaims(store: LeadStore, count: number, t0: number): Promise<string[]> {
  const leadIds = Array.from(
    { length: count },
    (_, index) => `lead-${String(index).padStart(4, '0')}`,
  );
  await store.addLeads(
    leadIds.map((leadId) => ({
      tenantId: 'acme',
      leadId,
      userId: 'u1',
      phoneNumber: '+14155550100',
    })),
  );
  const claims = await store.claimLeads({
    tenantId: 'acme',
    leadIds,
    now: t0,
    leaseMs: 60_000,
    claimedBy: 'crashed',
  });
  expect(claims.every((claim) => claim.claimed)).toBe(true);
  return leadIds;
}

describe.skipIf(!pool)('createPostgresLeadStore under the reconciler', () => {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');

  it('orphans a pass of expired attempts in a few statements, however many attempts it holds', async () => {
    const table = uniqueTableName('batch');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const counted = countStatements(pool!);
      const store = createPostgresLeadStore({ pool: counted.pool, table, attemptsTable });
      const leadIds = await leaveExpiredClaims(store, 120, t0);
      // A quarter of them dialled ambiguously; ten leads deleted by the app.
      for (const leadId of leadIds.slice(0, 30)) {
        const lead = await store.getLead('acme', leadId);
        await store.updateAttempt({
          tenantId: 'acme',
          leadId,
          attemptId: lead!.attemptId!,
          fence: lead!.fence,
          state: 'unknown',
          now: t0 + 1,
          leaseMs: 1_000,
        });
      }
      await pool!.query(`DELETE FROM ${table} WHERE id = ANY($1)`, [leadIds.slice(-10)]);
      const dialer = createReconcilingDialer(store, createTestClock(t0 + 120_000));
      const before = counted.sent();
      expect(await dialer.reconcile()).toEqual({ orphaned: 120, settled: 0 });
      // The read, then BEGIN, lock the leads, lock the attempts, orphan them all, COMMIT: one
      // round trip per attempt was four (a fenced write's transaction), 500 of them 2.5–4.4 s.
      expect(counted.sent() - before).toBeLessThanOrEqual(6);
      const orphans = await store.listAttempts({ tenantId: 'acme', state: 'orphaned', limit: 200 });
      const reasons: Record<string, number> = {};
      for (const attempt of orphans) reasons[attempt.reason!] = (reasons[attempt.reason!] ?? 0) + 1;
      expect(reasons).toEqual({ lease_expired: 80, unsettled: 30, lead_gone: 10 });
      expect(await store.getLead('acme', 'lead-0000')).toMatchObject({
        callStatus: 'orphaned',
        fence: 2,
      });
      expect(await dialer.reconcile()).toEqual({ orphaned: 0, settled: 0 });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('records the skips of a run over 100 leads outside their window in one statement, not one each', async () => {
    const table = uniqueTableName('skips');
    const attemptsTable = `${table}_attempts`;
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const counted = countStatements(pool!);
      const store = createPostgresLeadStore({ pool: counted.pool, table, attemptsTable });
      const during = await checkSkipsRecordedTogether(store, 'acme', counted.sent);
      // Two pages read, then one statement for the page's skips (it was 102: one per skip).
      expect(during).toBeLessThanOrEqual(3);
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('leaves a batch whose process died before it committed as it was, and a repeat orphans each attempt once', async () => {
    const table = uniqueTableName('batch_crash');
    const attemptsTable = `${table}_attempts`;
    const dying = await connectTestPostgres({ max: 1 });
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await leaveExpiredClaims(store, 50, t0);
      const now = t0 + 120_000;
      const attempts = (await store.listExpiredAttempts({ now, limit: 500 })).map(
        ({ tenantId, leadId, attemptId, fence }) => ({
          tenantId,
          leadId,
          attemptId,
          fence,
          reason: 'lease_expired',
        }),
      );
      expect(attempts).toHaveLength(50);
      // Its connection ends where COMMIT would have gone, every write of the batch sent.
      const crashing = countStatements(dying!, async (text, client) => {
        if (text !== 'COMMIT') return;
        // The client reports its connection ended: expected here.
        (client as unknown as EventEmitter).on('error', () => {});
        await client.query('SELECT pg_terminate_backend(pg_backend_pid())');
      });
      const crashed = createPostgresLeadStore({ pool: crashing.pool, table, attemptsTable });
      await expect(crashed.orphanExpiredAttempts!({ now, attempts })).rejects.toThrow();
      expect(await store.listExpiredAttempts({ now, limit: 500 })).toHaveLength(50);
      expect(await store.getLead('acme', 'lead-0000')).toMatchObject({
        callStatus: 'dialing',
        fence: 1,
      });
      expect(await store.orphanExpiredAttempts!({ now, attempts })).toEqual(
        attempts.map(() => 'orphaned'),
      );
      expect(await store.orphanExpiredAttempts!({ now, attempts })).toEqual(
        attempts.map(() => 'unchanged'),
      );
      for (const { leadId, attemptId } of attempts) {
        expect(await store.getAttempt('acme', attemptId)).toMatchObject({
          state: 'orphaned',
          fence: 2,
        });
        expect(await store.getLead('acme', leadId)).toMatchObject({
          callStatus: 'orphaned',
          fence: 2,
        });
      }
    } finally {
      await dying?.end();
      await dropTables(pool!, [table, attemptsTable]);
    }
  });
});

// A fenced write that waits for its lead's row lock decides on the attempt as the lock holder left
// it. Deciding in the statement that waited, it read the lead's new version but the attempt as it
// was before (READ COMMITTED): the lead `placed`, its attempt still `claimed`.
describe.skipIf(!pool)('createPostgresLeadStore fenced writes behind a held lead lock', () => {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');

  /**
   * Claims lead `a`, then runs `update` while a transaction of the test's own holds the lead's
   * row lock; once the write waits for it, that transaction records the call as `placed` (as a
   * `placed` webhook's fenced write does) and commits. Answers the write's result and the rows.
   */
  async function behindPlaced(
    update: (claim: { attemptId: string; fence: number }) => AttemptUpdate,
  ): Promise<{ result: AttemptUpdateResult; lead: Lead | undefined; attempt: unknown }> {
    const table = uniqueTableName('locked');
    const attemptsTable = `${table}_attempts`;
    const holder = await pool!.connect();
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await store.addLeads([
        { tenantId: 'acme', leadId: 'a', userId: 'u1', phoneNumber: '+14155550100' },
      ]);
      const [claim] = await store.claimLeads({
        tenantId: 'acme',
        leadIds: ['a'],
        now: t0,
        leaseMs: 60_000,
        claimedBy: 'test',
      });
      if (!claim?.claimed) throw new Error('lead a was not claimed');
      const { attemptId, fence } = claim.lead as { attemptId: string; fence: number };

      const pid = Number((await holder.query('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM ${table} WHERE tenant_id = 'acme' AND id = 'a' FOR UPDATE`);
      const pending = store.updateAttempt(update({ attemptId, fence }));
      await vi.waitFor(async () => {
        const { rows } = await pool!.query(
          'SELECT count(*)::integer AS waiting FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
          [pid],
        );
        expect(rows[0]!.waiting).toBe(1);
      });
      await holder.query(
        `UPDATE ${attemptsTable} SET state = 'placed', provider = 'test', call_id = 'call-1',
           lease_until = NULL, updated_at = $2 WHERE tenant_id = 'acme' AND attempt_id = $1`,
        [attemptId, new Date(t0 + 1)],
      );
      await holder.query(
        `UPDATE ${table} SET call_status = 'placed', dialer_provider = 'test', dialer_call_id = 'call-1'
         WHERE tenant_id = 'acme' AND id = 'a'`,
      );
      await holder.query('COMMIT');
      const result = await pending;
      return {
        result,
        lead: await store.getLead('acme', 'a'),
        attempt: await store.getAttempt('acme', attemptId),
      };
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      await dropTables(pool!, [table, attemptsTable]);
    }
  }

  it('lands an `ended` that waited behind a `placed`: it was refused as claimed → ended and the attempt stayed placed', async () => {
    const { result, lead, attempt } = await behindPlaced(({ attemptId, fence }) => ({
      tenantId: 'acme',
      leadId: 'a',
      attemptId,
      fence,
      state: 'ended',
      outcome: 'completed',
      now: t0 + 2,
    }));
    expect(result).toMatchObject({ applied: true });
    expect(attempt).toMatchObject({ state: 'ended', callId: 'call-1', outcome: 'completed' });
    expect(lead).toMatchObject({ callStatus: 'completed', callId: 'call-1', fence: 1 });
  });

  it('refuses a reconciler take-over that waited behind a `placed`: it orphaned the placed call and lost its call id', async () => {
    const { result, lead, attempt } = await behindPlaced(({ attemptId, fence }) => ({
      tenantId: 'acme',
      leadId: 'a',
      attemptId,
      fence,
      state: 'orphaned',
      takeOver: true,
      reason: 'lease_expired',
      now: t0 + 120_000,
    }));
    expect(result).toMatchObject({ applied: false, reason: 'invalid_transition' });
    expect(attempt).toMatchObject({
      state: 'placed',
      provider: 'test',
      callId: 'call-1',
      fence: 1,
    });
    expect(lead).toMatchObject({ callStatus: 'placed', callId: 'call-1', fence: 1 });
  });
});

describe.skipIf(!pool)('createPostgresLeadStore over typed and varchar(n) columns', () => {
  const tenantId = 'acme';
  const userId = 'u1';
  const now = Date.parse('2026-03-02T12:00:00Z');

  function dialerOver(store: LeadStore, options: Partial<Parameters<typeof createDialer>[0]> = {}) {
    const dialled: { to: string; tenantId: string }[] = [];
    const dialer = createDialer({
      store,
      bus: { publish: async () => ({ duplicate: false }) },
      accounts: [
        {
          id: 'test',
          callsPerSecond: 1000,
          control: {
            provider: 'test',
            placeCall: async (request) => {
              dialled.push({ to: request.to, tenantId: request.tenantId });
              return { provider: 'test', callId: `call-${dialled.length}`, reference: '' };
            },
            terminateCall: async () => {},
          },
        },
      ],
      clock: createTestClock(now),
      logger: {},
      ...options,
    });
    return { dialer, dialled };
  }

  async function withTable(
    columns: string | undefined,
    body: (context: {
      store: LeadStore;
      table: string;
      api: (path: string, init?: RequestInit) => Promise<{ status: number; body: unknown }>;
      errors: unknown[];
    }) => Promise<void>,
  ): Promise<void> {
    const table = uniqueTableName('typed');
    const attemptsTable = `${table}_attempts`;
    try {
      if (columns !== undefined) await pool!.query(`CREATE TABLE ${table} (${columns})`);
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      const errors: unknown[] = [];
      const handler = createDialerHandler({
        dialer: dialerOver(store).dialer,
        store,
        authenticate: () => ({ tenantId, userId }),
        onError: (error) => errors.push(error),
      });
      const api = async (path: string, init?: RequestInit) => {
        const response = await handler(new Request(`http://localhost${path}`, init));
        const text = await response.text();
        return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
      };
      await body({ store, table, api, errors });
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  }
  const leadColumns = (ids: string) =>
    `${ids}, phone_number text, time_zone text, call_status text NOT NULL DEFAULT 'pending',
     has_been_called boolean NOT NULL DEFAULT false, PRIMARY KEY (tenant_id, id)`;

  it('refuses a lead id longer than a varchar(n) column (400, nothing added) instead of cutting two ids into one', async () => {
    await withTable(leadColumns('id varchar(8), tenant_id text, user_id text'), async (context) => {
      await expect(
        context.store.addLeads([
          { tenantId, userId, leadId: 'lead-001', phoneNumber: '+14155550100' },
          { tenantId, userId, leadId: 'lead-0001-anna', phoneNumber: '+14155550100' },
          { tenantId, userId, leadId: 'lead-0001-bert', phoneNumber: '+14155550101' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_lead', status: 400, index: 1, field: 'leadId' });
      const answer = await context.api('/dialer/leads', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          leads: [{ leadId: 'lead-123456789', phoneNumber: '+14155550100' }],
        }),
      });
      expect({ status: answer.status, errors: context.errors }).toEqual({
        status: 400,
        errors: [],
      });
      const { rows } = await pool!.query(`SELECT id FROM ${context.table}`);
      expect(rows).toEqual([]);
      // Eight characters (not UTF-16 units) fit.
      expect(
        await context.store.addLeads([
          { tenantId, userId, leadId: 'lead-😀-1', phoneNumber: '+14155550100' },
        ]),
      ).toEqual({ added: 1, existing: 0, conflicts: [] });
    });
  });

  it('refuses a phone number longer than a varchar(12) column instead of storing and dialling a cut number', async () => {
    await withTable(
      leadColumns('id text, tenant_id text, user_id text').replace(
        'phone_number text',
        'phone_number varchar(12)',
      ),
      async ({ store }) => {
        await expect(
          store.addLeads([
            { tenantId, userId, leadId: 'uk-1', phoneNumber: '+442079460958', timeZone: 'UTC' },
          ]),
        ).rejects.toMatchObject({ code: 'invalid_lead', index: 0, field: 'phoneNumber' });
        expect(await store.getLead(tenantId, 'uk-1')).toBeUndefined();
        const { dialer, dialled } = dialerOver(store);
        const run = await dialer.trigger({ tenantId, userId });
        if (run.outcome === 'started') await run.finished;
        expect(dialled).toEqual([]);
      },
    );
  });

  it('reads a domain as the type under it: an id longer than a domain over varchar(4) is refused, not cut', async () => {
    const domain = uniqueTableName('short');
    try {
      await pool!.query(`CREATE DOMAIN ${domain} AS varchar(4)`);
      await withTable(
        leadColumns(`id ${domain}, tenant_id text, user_id text`),
        async (context) => {
          await expect(
            context.store.addLeads([
              { tenantId, userId, leadId: 'a', phoneNumber: '+14155550100' },
              { tenantId, userId, leadId: 'abcdef', phoneNumber: '+14155550100' },
            ]),
          ).rejects.toMatchObject({ code: 'invalid_lead', status: 400, index: 1, field: 'leadId' });
          const { rows } = await pool!.query(`SELECT id FROM ${context.table}`);
          expect(rows).toEqual([]);
        },
      );
    } finally {
      await pool!.query(`DROP DOMAIN IF EXISTS ${domain}`);
    }
  });

  it('answers a value PostgreSQL refuses for a type the store leaves to it (an oid id) as a bad lead, and its lookup as none', async () => {
    await withTable(leadColumns('id oid, tenant_id text, user_id text'), async (context) => {
      await expect(
        context.store.addLeads([
          { tenantId, userId, leadId: '1', phoneNumber: '+14155550100' },
          { tenantId, userId, leadId: '4294967296', phoneNumber: '+14155550100' },
        ]),
      ).rejects.toMatchObject({
        code: 'invalid_lead',
        status: 400,
        index: 0,
        message: expect.stringContaining('(or lead 1) holds a value your table refuses'),
      });
      const { rows } = await pool!.query(`SELECT id FROM ${context.table}`);
      expect(rows).toEqual([]);
      expect((await context.api('/dialer/leads/abc')).status).toBe(404);
      expect(context.errors).toEqual([]);
    });
  });

  it('answers a lookup by an id a bigint column cannot hold with 404 (a bad ?after= with 400), not a 500', async () => {
    await withTable(leadColumns('id bigint, tenant_id text, user_id text'), async (context) => {
      await context.store.addLeads([
        { tenantId, userId, leadId: '7', phoneNumber: '+14155550100' },
      ]);
      expect((await context.api('/dialer/leads/7')).status).toBe(200);
      const answers = {
        word: (await context.api('/dialer/leads/abc')).status,
        tooBig: (await context.api('/dialer/leads/99999999999999999999')).status,
        afterWord: (await context.api('/dialer/leads?after=abc')).status,
        afterTooBig: (await context.api('/dialer/leads?after=9223372036854775808')).status,
      };
      expect({ answers, errors: context.errors }).toEqual({
        answers: { word: 404, tooBig: 404, afterWord: 400, afterTooBig: 400 },
        errors: [],
      });
      await expect(
        context.store.listPendingLeads({ tenantId, userId, afterLeadId: 'abc', limit: 10 }),
      ).rejects.toThrow(InvalidArgumentError);
    });
  });

  it('answers a lookup by a non-uuid on a uuid column with 404 (a bad ?after= with 400), not a 500', async () => {
    await withTable(leadColumns('id uuid, tenant_id text, user_id text'), async (context) => {
      const answers = {
        word: (await context.api('/dialer/leads/not-a-uuid')).status,
        afterWord: (await context.api('/dialer/leads?after=zzz')).status,
      };
      expect({ answers, errors: context.errors }).toEqual({
        answers: { word: 404, afterWord: 400 },
        errors: [],
      });
    });
  });

  it('answers a lookup by an id with a NUL on the shipped text table with 404 (in ?after= with 400), not a 500', async () => {
    await withTable(undefined, async (context) => {
      const answers = {
        nulId: (await context.api('/dialer/leads/a%00b')).status,
        nulAfter: (await context.api('/dialer/leads?after=a%00b')).status,
      };
      expect({ answers, errors: context.errors }).toEqual({
        answers: { nulId: 404, nulAfter: 400 },
        errors: [],
      });
      expect(await context.store.getLead(tenantId, '\ud800')).toBeUndefined();
    });
  });

  it('keeps one spelling per typed id: refuses 007 or an uppercase uuid as a new lead, and finds nothing by them', async () => {
    const uuid = '0b6a4d1e-6f0e-4c55-9f1e-1f2a3b4c5d01';
    await withTable(leadColumns('id bigint, tenant_id text, user_id text'), async ({ store }) => {
      for (const leadId of ['007', '+7', ' 7', '-0']) {
        await expect(
          store.addLeads([{ tenantId, userId, leadId, phoneNumber: '+14155550100' }]),
        ).rejects.toMatchObject({
          code: 'invalid_lead',
          field: 'leadId',
          message: expect.stringContaining('as PostgreSQL prints it'),
        });
      }
      await store.addLeads([{ tenantId, userId, leadId: '7', phoneNumber: '+14155550100' }]);
      expect(await store.getLead(tenantId, '007')).toBeUndefined();
      const [other] = await store.claimLeads({
        tenantId,
        leadIds: ['007'],
        now,
        leaseMs: 60_000,
        claimedBy: 'test',
      });
      expect(other).toEqual({ leadId: '007', claimed: false, reason: 'not_found' });
      expect(await store.getLead(tenantId, '7')).toMatchObject({ callStatus: 'pending' });
    });
    await withTable(leadColumns('id uuid, tenant_id text, user_id text'), async ({ store }) => {
      await expect(
        store.addLeads([
          { tenantId, userId, leadId: uuid.toUpperCase(), phoneNumber: '+14155550100' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_lead', field: 'leadId' });
      await store.addLeads([{ tenantId, userId, leadId: uuid, phoneNumber: '+14155550100' }]);
      const claims = await store.claimLeads({
        tenantId,
        leadIds: [uuid.toUpperCase(), `{${uuid}}`],
        now,
        leaseMs: 60_000,
        claimedBy: 'test',
      });
      expect(claims.map((claim) => !claim.claimed && claim.reason)).toEqual([
        'not_found',
        'not_found',
      ]);
      expect(await store.getLead(tenantId, uuid)).toMatchObject({ callStatus: 'pending' });
    });
  });

  it('keeps one spelling of a uuid tenant: an uppercase tenant adds nothing and dials nothing, so the per-user cap and the do-not-call list hold', async () => {
    const tenant = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
    const upper = tenant.toUpperCase(); // as an app's auth might spell it
    await withTable(leadColumns('id text, tenant_id uuid, user_id text'), async ({ store }) => {
      await expect(
        store.addLeads([
          { tenantId: upper, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
        ]),
      ).rejects.toMatchObject({ code: 'invalid_lead', index: 0, field: 'tenantId' });
      await store.addLeads([
        { tenantId: tenant, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
        { tenantId: tenant, userId, leadId: 'b', phoneNumber: '+14155550101', timeZone: 'UTC' },
      ]);
      // The tenant's do-not-call list and live calls are kept under its one spelling; a run under
      // another finds no leads, so it can bypass neither.
      const doNotCall = createMemoryDoNotCallList();
      await doNotCall.add(upper, ['+14155550100', '+14155550101']);
      const { dialer, dialled } = dialerOver(store, { doNotCall, maxConcurrentCallsPerUser: 1 });
      const run = await dialer.trigger({ tenantId: upper, userId });
      const [summary] = run.outcome === 'started' ? await run.finished : [];
      expect({ dialled, placed: summary?.placed ?? 0 }).toEqual({ dialled: [], placed: 0 });
      expect(await store.listPendingLeads({ tenantId: upper, userId, limit: 10 })).toEqual([]);
      expect(await store.countLiveAttempts({ tenantId: upper, userId, since: 0 })).toBe(0);
    });
  });

  it('reads character(n) ids as they were given, never blank-padded: leads, claims, attempts, the HTTP API and the events', async () => {
    await withTable(
      leadColumns('id character(8), tenant_id character(8), user_id character(8)').replace(
        'phone_number text',
        'phone_number character(16)',
      ),
      async (context) => {
        const { store } = context;
        await store.addLeads([
          { tenantId, userId, leadId: 'ab', phoneNumber: '+14155550100', timeZone: 'UTC' },
          { tenantId, userId, leadId: 'cd', phoneNumber: '+14155550101' }, // no zone: skipped
        ]);
        // PostgreSQL keeps them padded to the column's width.
        const { rows } = await pool!.query(`SELECT id FROM ${context.table} ORDER BY id`);
        expect(rows.map((row) => row.id)).toEqual(['ab      ', 'cd      ']);
        const given = (leads: readonly Lead[]) =>
          leads.map((lead) => [lead.tenantId, lead.leadId, lead.userId, lead.phoneNumber]);
        const both = [
          [tenantId, 'ab', userId, '+14155550100'],
          [tenantId, 'cd', userId, '+14155550101'],
        ];
        expect(given(await store.listPendingLeads({ tenantId, userId, limit: 10 }))).toEqual(both);
        expect(given(await store.listLeads({ tenantId, userId, limit: 10 }))).toEqual(both);
        expect(await context.api('/dialer/leads')).toMatchObject({
          status: 200,
          body: {
            leads: [
              { leadId: 'ab', userId },
              { leadId: 'cd', userId },
            ],
          },
        });
        expect(await context.api('/dialer/leads/ab')).toMatchObject({
          status: 200,
          body: { lead: { leadId: 'ab', userId, phoneNumber: '+14155550100' } },
        });

        // A run: the number dialled, and every id in the events it publishes, as given.
        const events: CallEvent[] = [];
        const { dialer, dialled } = dialerOver(store, {
          bus: {
            publish: async (event) => {
              events.push(event);
              return { duplicate: false };
            },
          },
        });
        const run = await dialer.trigger({ tenantId, userId });
        const [summary] = run.outcome === 'started' ? await run.finished : [];
        expect(summary).toMatchObject({ placed: 1, skipped: 1 });
        expect(dialled).toEqual([{ to: '+14155550100', tenantId }]);
        const published = events.map((event) => [
          event.type,
          event.tenantId,
          event.userId,
          (event.data as { leadId?: string }).leadId,
        ]);
        expect(published.sort()).toEqual([
          ['dialer.call_placed', tenantId, userId, 'ab'],
          ['dialer.lead_skipped', tenantId, userId, 'cd'],
          ['dialer.run_finished', tenantId, userId, undefined],
          ['dialer.run_started', tenantId, userId, undefined],
        ]);
        const [attempt] = await store.listAttempts({ tenantId, userId, limit: 10 });
        expect(attempt).toMatchObject({ tenantId, leadId: 'ab', userId, state: 'placed' });
        expect(await store.findAttemptByCall(tenantId, 'test', 'call-1')).toMatchObject({
          leadId: 'ab',
          userId,
        });
        expect(await store.getLead(tenantId, 'ab')).toMatchObject({
          tenantId,
          leadId: 'ab',
          userId,
          callStatus: 'placed',
          attemptId: attempt?.attemptId,
        });

        // A claim answers the ids as given too, and so do its refusals.
        await store.addLeads([{ tenantId, userId, leadId: 'ef', phoneNumber: '+14155550102' }]);
        const claims = await store.claimLeads({
          tenantId,
          leadIds: ['ef', 'ab'],
          now,
          leaseMs: 60_000,
          claimedBy: 'test',
        });
        expect(claims).toMatchObject([
          {
            leadId: 'ef',
            claimed: true,
            lead: { tenantId, leadId: 'ef', userId, phoneNumber: '+14155550102' },
            attempt: { leadId: 'ef', userId },
          },
          { leadId: 'ab', claimed: false, reason: 'not_pending' },
        ]);

        // `ab ` is `ab` to a character(n) column: another spelling, refused and found nowhere.
        await expect(
          store.addLeads([{ tenantId, userId, leadId: 'gh ', phoneNumber: '+14155550103' }]),
        ).rejects.toMatchObject({
          code: 'invalid_lead',
          field: 'leadId',
          message: expect.stringContaining('without trailing spaces'),
        });
        expect(await store.getLead(tenantId, 'ab ')).toBeUndefined();
        expect((await context.api('/dialer/leads/ab%20')).status).toBe(404);
        expect(await store.getLead(`${tenantId} `, 'ab')).toBeUndefined();
        expect(context.errors).toEqual([]);
      },
    );
  });

  it('finds no attempt by a value with a NUL (a webhook’s call id, a reference), instead of a PostgreSQL error', async () => {
    await withTable(undefined, async ({ store }) => {
      await store.addLeads([
        { tenantId, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
      ]);
      const bus = createMemoryBus();
      const follow = new AbortController();
      try {
        const { dialer } = dialerOver(store, { bus });
        const run = await dialer.trigger({ tenantId, userId });
        if (run.outcome === 'started') await run.finished;
        const [placed] = await store.listAttempts({ tenantId, userId, limit: 10 });
        expect(placed).toMatchObject({ state: 'placed', provider: 'test', callId: 'call-1' });
        const event = (callId: string, data: Record<string, unknown> = {}): CallEvent => ({
          id: `nul-test:${callId}:${Math.random()}`,
          type: 'call.ringing',
          tenantId,
          provider: 'test',
          callId,
          status: 'ringing',
          occurredAt: new Date(now).toISOString(),
          receivedAt: new Date(now).toISOString(),
          data,
        });

        // What the dialer does with every call event on the bus (its provider's webhooks); a
        // call id with a NUL is refused as the bus refuses it (below).
        await expect(dialer.handleCallEvent(event('call\u0000-1'))).rejects.toMatchObject({
          code: 'invalid_event',
        });
        expect(
          await dialer.handleCallEvent(
            event('call-9', { reference: `${placed?.attemptId}\u0000` }),
          ),
        ).toBe('unlinked');
        // One user's updates (the Socket.IO integration's): such an event does not end them.
        const updates = dialer.followUser({ tenantId, userId, signal: follow.signal });
        await updates.ready;
        // A call id with a NUL never reaches the bus (event ids take no control character); a
        // reference with one does.
        await expect(bus.publish(event('call\u0000-1'))).rejects.toMatchObject({
          code: 'invalid_event',
        });
        await bus.publish(event('call-9', { reference: `${placed?.attemptId}\u0000` }));
        await bus.publish({ ...event('call-1'), type: 'call.answered', status: 'in-progress' });
        const next = await updates[Symbol.asyncIterator]().next();
        expect(next.value).toMatchObject({
          type: 'call_placed',
          leadId: 'a',
          attemptId: placed?.attemptId,
        });
        await expect(dialer.releaseAttempt(tenantId, 'attempt\u0000')).rejects.toMatchObject({
          code: 'not_found',
          status: 404,
        });

        // The store's attempt lookups, each as for an id it does not have.
        expect(await store.getAttempt(tenantId, 'attempt\u0000')).toBeUndefined();
        expect(await store.getAttempt(`${tenantId}\u0000`, placed!.attemptId)).toBeUndefined();
        expect(await store.findAttemptByCall(tenantId, 'test', 'call\u0000-1')).toBeUndefined();
        expect(await store.findAttemptByCall(tenantId, 'te\u0000st', 'call-1')).toBeUndefined();
        expect(await store.listAttempts({ tenantId, userId: 'u\u0000', limit: 10 })).toEqual([]);
        expect(await store.countLiveAttempts({ tenantId, userId: 'u\u0000', since: 0 })).toBe(0);
        expect(
          await store.orphanDetachedAttempt({
            tenantId,
            leadId: 'a',
            attemptId: 'attempt\u0000',
            now,
            reason: 'lead_gone',
          }),
        ).toBeUndefined();
        expect(
          await store.updateAttempt({
            tenantId,
            leadId: 'a',
            attemptId: 'attempt\u0000',
            fence: placed!.fence,
            state: 'ended',
            now,
          }),
        ).toMatchObject({ applied: false });
        expect(await store.getAttempt(tenantId, placed!.attemptId)).toMatchObject({
          state: 'placed',
        });
      } finally {
        follow.abort();
        await bus.close();
      }
    });
  });

  it('refuses a call event it cannot record (a control character in its call id or provider) with the bus’s error, not a PostgreSQL one, when its reference links an attempt', async () => {
    await withTable(undefined, async ({ store }) => {
      await store.addLeads([
        { tenantId, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
      ]);
      const bus = createMemoryBus();
      const logged: { message: string; error: unknown }[] = [];
      const { dialer } = dialerOver(store, {
        bus,
        logger: { error: (message, fields) => logged.push({ message, error: fields?.error }) },
      });
      try {
        const run = await dialer.trigger({ tenantId, userId });
        if (run.outcome === 'started') await run.finished;
        const [placed] = await store.listAttempts({ tenantId, userId, limit: 10 });
        expect(placed).toMatchObject({ state: 'placed', provider: 'test', callId: 'call-1' });
        const ended = (fields: Partial<CallEvent>): CallEvent => ({
          id: `refused-test:${Math.random()}`,
          type: 'call.ended',
          tenantId,
          provider: 'test',
          callId: 'call-1',
          status: 'completed',
          occurredAt: new Date(now).toISOString(),
          receivedAt: new Date(now).toISOString(),
          // The call id alone links nothing here: the reference (the attempt id) does.
          data: { reference: placed!.attemptId },
          ...fields,
        });

        // Called directly: refused as a bus's publish refuses it, naming the field.
        for (const [fields, field] of [
          [{ callId: 'call\u0000-1' }, 'callId'],
          [{ callId: 'call-\n1' }, 'callId'],
          [{ provider: 'te\u0000st' }, 'provider'],
          [{ provider: 'test\r\n' }, 'provider'],
        ] as const) {
          await expect(dialer.handleCallEvent(ended(fields))).rejects.toMatchObject({
            code: 'invalid_event',
            status: 400,
            field,
          });
        }
        expect(await store.getAttempt(tenantId, placed!.attemptId)).toMatchObject({
          state: 'placed',
          provider: 'test',
          callId: 'call-1',
        });

        // A bus refuses such an event at its publish, so none reaches the dialer that way; the
        // next event of the call applies.
        dialer.start();
        await expect(bus.publish(ended({ provider: 'te\u0000st' }))).rejects.toMatchObject({
          code: 'invalid_event',
          field: 'provider',
        });
        await bus.publish(ended({}));
        let attempt = await store.getAttempt(tenantId, placed!.attemptId);
        for (let tries = 0; attempt?.state !== 'ended' && tries < 500; tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          attempt = await store.getAttempt(tenantId, placed!.attemptId);
        }
        expect(attempt).toMatchObject({ state: 'ended', provider: 'test', callId: 'call-1' });
        expect(logged).toEqual([]);
      } finally {
        await dialer.stop();
        await bus.close();
      }
    });
  });

  it('refuses a provider with a control character that a Redis bus hands over unchecked (a publisher of an earlier version), not with a PostgreSQL error', async () => {
    const redis = await connectTestRedis();
    if (!redis) throw new Error('This test needs Redis.');
    const prefix = uniquePrefix('dialer-provider');
    await withTable(undefined, async ({ store }) => {
      await store.addLeads([
        { tenantId, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
      ]);
      const bus = createRedisBus({ redis, prefix });
      const logged: { message: string; error: unknown }[] = [];
      const { dialer } = dialerOver(store, {
        bus,
        logger: { error: (message, fields) => logged.push({ message, error: fields?.error }) },
      });
      try {
        const run = await dialer.trigger({ tenantId, userId });
        if (run.outcome === 'started') await run.finished;
        const [placed] = await store.listAttempts({ tenantId, userId, limit: 10 });
        await dialer.start();
        // The next event as a publisher that did not refuse the provider would write it: its
        // stream entry, then its live message.
        const position = await bus.position!(tenantId);
        const epoch = position.slice(0, position.lastIndexOf(':'));
        const forged = {
          id: `forged:${Math.random()}`,
          type: 'call.ended',
          tenantId,
          provider: 'te\u0000st',
          callId: 'call-1',
          status: 'completed',
          occurredAt: new Date(now).toISOString(),
          receivedAt: new Date(now).toISOString(),
          data: { reference: placed!.attemptId },
        };
        const base = `${prefix}:{${tenantId}}`;
        const seq = await redis.hincrby(`${base}:meta`, 'seq', 1);
        const json = JSON.stringify(forged);
        await redis.xadd(`${base}:stream`, `${seq}-${Date.now()}`, 'e', json, 'i', forged.id);
        await redis.publish(`${base}:events`, `${epoch}:${seq}\n${json}`);
        for (let tries = 0; logged.length === 0 && tries < 300; tries += 1) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        expect(logged).toMatchObject([
          {
            message: 'Applying a call event failed.',
            error: { code: 'invalid_event', field: 'provider' },
          },
        ]);
        expect(await store.getAttempt(tenantId, placed!.attemptId)).toMatchObject({
          state: 'placed',
          provider: 'test',
        });
      } finally {
        await dialer.stop();
        await bus.close();
      }
    });
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('refuses a review reason PostgreSQL cannot store (a NUL) with a 400, not a PostgreSQL error', async () => {
    await withTable(undefined, async ({ store }) => {
      await store.addLeads([
        { tenantId, userId, leadId: 'a', phoneNumber: '+14155550100', timeZone: 'UTC' },
      ]);
      const { dialer } = dialerOver(store, {
        accounts: [
          {
            id: 'test',
            control: {
              provider: 'test',
              // An ambiguous failure: the attempt is unknown, for a person to review.
              placeCall: async () => {
                throw new Error('socket hang up');
              },
              terminateCall: async () => {},
            },
          },
        ],
      });
      const run = await dialer.trigger({ tenantId, userId });
      if (run.outcome === 'started') await run.finished;
      const [unknown] = await store.listAttempts({ tenantId, userId, limit: 10 });
      expect(unknown).toMatchObject({ state: 'unknown' });
      for (const reason of ['no call\u0000', 'no call \ud800']) {
        await expect(
          dialer.releaseAttempt(tenantId, unknown!.attemptId, reason),
        ).rejects.toMatchObject({ code: 'invalid_argument', status: 400 });
      }
      expect(await store.getAttempt(tenantId, unknown!.attemptId)).toMatchObject({
        state: 'unknown',
      });
      // A line break is text PostgreSQL keeps: a person's note may have one.
      expect(
        await dialer.releaseAttempt(tenantId, unknown!.attemptId, 'review:\nno call was made'),
      ).toMatchObject({ applied: true, attempt: { reason: 'review:\nno call was made' } });
    });
  });
});

describe.skipIf(!pool)('createPostgresLeadStore writes over many leads at once', () => {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');
  const leadOf = (leadId: string) => ({
    tenantId: 'acme',
    leadId,
    userId: 'u1',
    phoneNumber: '+14155550100',
  });

  /**
   * Runs `first`, which must come to wait for the lock `holder` holds on lead `c`, then `second`,
   * which must come to wait too; then the holder commits. Two writes that take their leads' rows
   * in the order they were given deadlock here (`first` holds `a` and waits for `b`, `second`
   * holds `b` and waits for `a`): PostgreSQL fails one of them with 40P01.
   */
  async function raceBehindLeadC(
    holdLeadC: (holder: PostgresPoolClient, table: string) => Promise<void>,
    writes: (store: LeadStore) => [() => Promise<unknown>, () => Promise<unknown>],
    seed: string[],
    after: (store: LeadStore) => Promise<void>,
  ): Promise<PromiseSettledResult<unknown>[]> {
    const table = uniqueTableName('order');
    const attemptsTable = `${table}_attempts`;
    const holder = await pool!.connect();
    const waiting = async (count: number) => {
      // Writes of this table waiting for a lock (their statement names the table).
      await vi.waitFor(
        async () => {
          const { rows } = await pool!.query(
            `SELECT count(*)::integer AS waiting FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
            [table],
          );
          expect(rows[0]!.waiting).toBe(count);
        },
        { timeout: 10_000, interval: 20 },
      );
    };
    try {
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      if (seed.length > 0) await store.addLeads(seed.map(leadOf));
      await holder.query('BEGIN');
      await holdLeadC(holder, table);
      const [first, second] = writes(store);
      const firstDone = first();
      firstDone.catch(() => {});
      await waiting(1);
      const secondDone = second();
      secondDone.catch(() => {});
      await waiting(2);
      await holder.query('COMMIT');
      const outcomes = await Promise.allSettled([firstDone, secondDone]);
      await after(store);
      return outcomes;
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      holder.release();
      await dropTables(pool!, [table, attemptsTable]);
    }
  }

  const failures = (outcomes: PromiseSettledResult<unknown>[]) =>
    outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [String((outcome.reason as { code?: unknown }).code)] : [],
    );

  it('records two batches of skips over the same leads in opposite orders: both land (one failed with a deadlock, 40P01)', async () => {
    let leads: (Lead | undefined)[] = [];
    const outcomes = await raceBehindLeadC(
      (holder, table) =>
        holder
          .query(`SELECT 1 FROM ${table} WHERE tenant_id = 'acme' AND id = 'c' FOR UPDATE`)
          .then(() => {}),
      (store) => [
        () =>
          store.recordSkips(
            ['a', 'c', 'b'].map((leadId) => ({
              tenantId: 'acme',
              leadId,
              reason: 'first',
              now: t0,
            })),
          ),
        () =>
          store.recordSkips(
            ['b', 'a'].map((leadId) => ({ tenantId: 'acme', leadId, reason: 'second', now: t0 })),
          ),
      ],
      // A table of a real size: the UPDATE finds its leads by primary key, in the order given (on
      // three rows it reads the table through, in its own order, whatever the batch's).
      ['a', 'b', 'c', ...Array.from({ length: 2000 }, (_, index) => `other-${index}`)],
      async (store) => {
        leads = await Promise.all(['a', 'b', 'c'].map((leadId) => store.getLead('acme', leadId)));
      },
    );
    expect(failures(outcomes)).toEqual([]);
    // The second batch waited for the first and wrote over it.
    expect(leads.map((lead) => lead?.skipReason)).toEqual(['second', 'second', 'first']);
  });

  it('adds two lists over the same new leads in opposite orders: both land (one failed with a deadlock, 40P01)', async () => {
    let listed = 0;
    const outcomes = await raceBehindLeadC(
      // Another load of the list, not committed yet, holds lead c's key.
      (holder, table) =>
        holder
          .query(
            `INSERT INTO ${table} (tenant_id, id, user_id, phone_number, call_status, has_been_called)
             VALUES ('acme', 'c', 'u1', '+14155550100', 'pending', false)`,
          )
          .then(() => {}),
      (store) => [
        () => store.addLeads(['a', 'c', 'b'].map(leadOf)),
        () => store.addLeads(['b', 'a'].map(leadOf)),
      ],
      [],
      async (store) => {
        listed = (await store.listLeads({ tenantId: 'acme', userId: 'u1', limit: 10 })).length;
      },
    );
    expect(failures(outcomes)).toEqual([]);
    expect(outcomes).toEqual([
      { status: 'fulfilled', value: { added: 2, existing: 1, conflicts: [] } },
      { status: 'fulfilled', value: { added: 0, existing: 2, conflicts: [] } },
    ]);
    expect(listed).toBe(3);
  });
});

describe.skipIf(!pool)('createPostgresLeadStore when PostgreSQL drops its connection', () => {
  it('survives a connection dropped during a fenced write (a restart, a failover, pg_terminate_backend): the write rejects, the process lives on', async () => {
    const table = uniqueTableName('dropped');
    const lines: string[] = [];
    const child = spawnTypeScript(
      fileURLToPath(new URL('./__tests__/postgres-connection-dropped.ts', import.meta.url)),
      { args: [testPostgresUrl, table], onLine: (line) => lines.push(line) },
    );
    try {
      const code = await waitForExit(child);
      // It was: the checked-out client's 'error' event, heard by no one, ended the process.
      expect(lines).toEqual([expect.stringMatching(/^rejected /), 'alive']);
      expect(code).toBe(0);
    } finally {
      await killAndWait(child);
      await dropTables(pool!, [table, `${table}_attempts`]);
    }
  });

  it('survives a connection dropped as the pool hands it to a transaction (its last answer and the FATAL read at once): the write rejects, the process lives on', async () => {
    const table = uniqueTableName('handed');
    const lines: string[] = [];
    const child = spawnTypeScript(
      fileURLToPath(
        new URL('./__tests__/postgres-connection-dropped-on-hand-over.ts', import.meta.url),
      ),
      { args: [testPostgresUrl, table], onLine: (line) => lines.push(line) },
    );
    try {
      const code = await waitForExit(child);
      // It was: the pool handed the connection over and PostgreSQL's FATAL came in the same read,
      // before the store listened for the connection's errors; heard by no one, it ended the process.
      expect(lines).toEqual([expect.stringMatching(/^rejected /), 'alive']);
      expect(code).toBe(0);
    } finally {
      await killAndWait(child);
      await dropTables(pool!, [table, `${table}_attempts`]);
    }
  });
});

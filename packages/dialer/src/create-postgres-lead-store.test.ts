import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@calltrack/core';
import { connectTestPostgres, dropTables, uniqueTableName } from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDialer } from './create-dialer';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createTestClock } from './create-test-clock';
import { describeLeadStore } from './describe-lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const pool = await connectTestPostgres({ max: 10 });

afterAll(async () => {
  await pool?.end();
});

describeLeadStore(
  { describe: describe.skipIf(!pool), it, afterEach },
  {
    name: 'postgres',
    createStore: async () => {
      const table = uniqueTableName('leads');
      const attemptsTable = `${table}_attempts`;
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      return {
        store: createPostgresLeadStore({ pool: pool!, table, attemptsTable }),
        dispose: () => dropTables(pool!, [table, attemptsTable]),
      };
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

  it('refuses names that are not plain identifiers', () => {
    expect(() =>
      createPostgresLeadStore({ pool: pool!, table: 'leads; DROP TABLE users' }),
    ).toThrow(InvalidArgumentError);
    expect(() => postgresLeadStoreMigration({ columns: { callStatus: 'status"--' } })).toThrow(
      /columns.callStatus must be a plain SQL identifier/,
    );
  });
});

// The dialer on PostgreSQL while an operator (or a failover) ends its connections again and
// again, mid-run: pg_terminate_backend of every connection of the dialer's pool as calls go out,
// so claims, fenced writes and page reads die with their statement in flight or their answer lost.
// No lead may be called twice, and every lead must end called or orphaned for review. (Run first,
// it also ended the process: a connection the pool handed over while reading its last answer,
// whose FATAL came in the same read, had no error listener; see checkOutPostgresClient.)
import { createMemoryBus } from '@calltrack/bus';
import {
  connectTestPostgres,
  dropTables,
  testPostgresUrl,
  uniqueTableName,
} from '@calltrack/test-utils';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createTestCallControl } from './__tests__/create-test-call-control';
import { startProviderServer } from './__tests__/provider-server';
import { createDialer } from './create-dialer';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createTestClock } from './create-test-clock';
import type { RunSummary } from './dialer';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const admin = await connectTestPostgres({ max: 2 });
afterAll(async () => {
  await admin?.end();
});

it.skipIf(admin === undefined)(
  'calls no lead twice while its PostgreSQL connections are ended mid-run, and leaves every lead called or orphaned',
  async () => {
    const table = uniqueTableName('dialer_dropped');
    const attemptsTable = `${table}_attempts`;
    await admin!.query(postgresLeadStoreMigration({ table, attemptsTable }));
    // Named, so only this pool's connections are ended.
    const pool = new pg.Pool({
      connectionString: testPostgresUrl,
      max: 4,
      application_name: table,
    });
    pool.on('error', () => {});
    const leadCount = 300;
    const number = (index: number) => `+1415${String(7_000_000 + index)}`;
    const terminations: Promise<unknown>[] = [];
    let ended = 0;
    const provider = await startProviderServer({
      onCall: () => {
        // Every 9th call, while most are still to come: end every connection of the pool.
        if (provider.calls.length % 9 !== 0 || provider.calls.length > leadCount * 0.8) return;
        terminations.push(
          admin!
            .query(
              'SELECT count(pg_terminate_backend(pid)) AS ended FROM pg_stat_activity WHERE application_name = $1',
              [table],
            )
            .then(({ rows }) => {
              ended += Number(rows[0]?.ended ?? 0);
            }),
        );
      },
    });
    const clock = createTestClock(Date.parse('2026-03-02T15:00:00.000Z'));
    const store = createPostgresLeadStore({ pool, table, attemptsTable });
    const bus = createMemoryBus();
    const dialer = createDialer({
      store,
      bus,
      accounts: [
        {
          id: 'twilio-main',
          control: createTestCallControl({
            baseUrl: provider.url,
            accountSid: provider.accountSid,
            authToken: provider.authToken,
          }),
          callsPerSecond: 5_000,
        },
      ],
      clock,
      callingWindow: { hours: { start: '00:00', end: '24:00' } },
      defaultTimeZone: 'UTC',
      minAttemptGapMs: 0,
      maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
      attemptLeaseMs: 60_000,
      logger: {},
    });
    try {
      await store.addLeads(
        Array.from({ length: leadCount }, (_, index) => ({
          tenantId: 'acme',
          leadId: `lead-${String(index).padStart(4, '0')}`,
          userId: 'user-1',
          phoneNumber: number(index),
        })),
      );
      const summaries: RunSummary[] = [];
      let settled = false;
      for (let round = 0; round < 40 && !settled; round += 1) {
        const result = await dialer.trigger({ tenantId: 'acme', userId: 'user-1' });
        if (result.outcome === 'started') summaries.push(...(await result.finished));
        await Promise.all(terminations);
        // Claims whose answer was lost, or whose `placed` write died, expire and are orphaned.
        await clock.advance(60_001);
        await dialer.reconcile().catch(() => undefined);
        const { rows } = await pool.query(
          `SELECT count(*) FILTER (WHERE call_status IN ('pending', 'dialing')) AS open FROM ${table}`,
        );
        settled = Number(rows[0]?.open) === 0;
      }
      const { rows: leads } = await pool.query(
        `SELECT phone_number AS phone, call_status AS status FROM ${table} ORDER BY id`,
      );
      const byStatus: Record<string, number> = {};
      for (const lead of leads) byStatus[lead.status] = (byStatus[lead.status] ?? 0) + 1;
      const duplicates = leads.filter((lead) => provider.callsTo(lead.phone) > 1).length;
      const figures = {
        byStatus,
        providerCalls: provider.calls.length,
        connectionsEnded: ended,
        runs: summaries.length,
        runsStoppedOnError: summaries.filter((summary) => summary.stoppedBy === 'error').length,
      };
      console.log('dialer with PostgreSQL connections ended:', JSON.stringify(figures));
      // The scenario happened: connections were ended under the runs.
      expect(ended).toBeGreaterThan(0);
      expect(duplicates).toBe(0);
      expect(settled).toBe(true);
      // Every lead placed was called once; every call went to a placed or orphaned lead.
      for (const lead of leads) {
        expect(['placed', 'orphaned'], lead.phone).toContain(lead.status);
        if (lead.status === 'placed') expect(provider.callsTo(lead.phone), lead.phone).toBe(1);
      }
    } finally {
      await dialer.stop();
      await bus.close();
      await provider.close();
      await pool.end();
      await dropTables(admin!, [table, attemptsTable]);
    }
  },
  120_000,
);

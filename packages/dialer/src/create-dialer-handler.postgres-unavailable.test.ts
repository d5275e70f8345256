import {
  connectTestPostgres,
  dropTables,
  freePort,
  testPostgresUrl,
  uniqueTableName,
} from '@calltrack/test-utils';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { serveDialerApi } from './__tests__/serve-dialer-api';
import { demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const admin = await connectTestPostgres({ max: 3 });
const tables: string[] = [];
afterAll(async () => {
  if (admin) await dropTables(admin, tables);
  await admin?.end();
});

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function migratedTable(): Promise<{ table: string; attemptsTable: string }> {
  const table = uniqueTableName('dialer_unavailable');
  const attemptsTable = `${table}_attempts`;
  tables.push(attemptsTable, table);
  await admin!.query(postgresLeadStoreMigration({ table, attemptsTable }));
  return { table, attemptsTable };
}

/** The dialer on a PostgreSQL lead store over `pool`, its API on loopback, what it reports. */
async function startApp(pool: pg.Pool, table: string, attemptsTable: string) {
  const logged: { message: string; context?: unknown }[] = [];
  const log = (message: string, context?: unknown) => logged.push({ message, context });
  const store = createPostgresLeadStore({ pool, table, attemptsTable });
  const app = await startDialerApp({
    providerApi: { outcome: 'busy' },
    dialer: { store, logger: { error: log, warn: log } },
  });
  closers.push(() => app.close());
  const { api, reported } = await serveDialerApi(app, store, closers);
  return { app, store, api, reported, logged };
}

const expectUnavailable = async (response: Response, cause: RegExp) => {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
  const { error } = (await response.json()) as { error: { code: string; message: string } };
  expect(error.code).toBe('database_unavailable');
  expect(error.message).toMatch(/^The database cannot be reached \(.+\)\. Try again later\.$/);
  expect(error.message).toMatch(cause);
};

const lead = { leadId: 'lead-1', phoneNumber: '+14155550123', timeZone: 'America/New_York' };

describe.skipIf(admin === undefined)('the dialer on PostgreSQL that cannot be reached', () => {
  it('answers 503 database_unavailable with Retry-After for a pool pointed at a closed port', async () => {
    const { table, attemptsTable } = await migratedTable();
    const port = await freePort();
    const pool = new pg.Pool({
      connectionString: testPostgresUrl.replace(/:\d+\//, `:${port}/`),
      max: 2,
    });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const { api, reported } = await startApp(pool, table, attemptsTable);

    await expectUnavailable(await api('/dialer/leads', { leads: [lead] }), /ECONNREFUSED/);
    await expectUnavailable(await api('/dialer/leads'), /ECONNREFUSED/);
    await expectUnavailable(await api('/dialer/leads/lead-1'), /ECONNREFUSED/);
    // The address stays in the cause, for the logs; the answer does not show it.
    expect(reported).toHaveLength(3);
    for (const error of reported) {
      expect(String((error.cause as Error).message)).toContain(String(port));
    }
  });

  it('answers 503 for a connection ended with its statement in flight, then works again', async () => {
    const { table, attemptsTable } = await migratedTable();
    // Named, so only this pool's connections are ended.
    const pool = new pg.Pool({
      connectionString: testPostgresUrl,
      max: 2,
      application_name: table,
    });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const { api } = await startApp(pool, table, attemptsTable);
    // The column types are read once, before the insert that will wait.
    expect((await api('/dialer/leads')).status).toBe(200);

    // An uncommitted insert of the same key holds the API's insert until its backend is ended.
    const holder = await admin!.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO ${table} (tenant_id, id, user_id, phone_number, call_status, has_been_called) VALUES ($1, $2, 'user-1', $3, 'pending', false)`,
        [demoTenant, lead.leadId, lead.phoneNumber],
      );
      const answer = api('/dialer/leads', { leads: [lead] });
      for (;;) {
        const { rows } = await admin!.query(
          `SELECT count(*)::integer AS waiting FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [table],
        );
        if (rows[0].waiting > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      await admin!.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [table],
      );
      await expectUnavailable(await answer, /57P01/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }

    const added = await api('/dialer/leads', { leads: [lead] });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({ added: 1, existing: 0 });
  });

  it('keeps any other database failure a 500 that reveals nothing', async () => {
    const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 2 });
    closers.push(() => pool.end());
    const missing = uniqueTableName('dialer_missing');
    const { api, reported } = await startApp(pool, missing, `${missing}_attempts`);

    const response = await api('/dialer/leads', { leads: [lead] });
    expect(response.status).toBe(500);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await response.json()).toEqual({
      error: { code: 'internal_error', message: 'Internal server error.' },
    });
    expect(reported).toHaveLength(1);
  });

  it('stops a run on the unreachable store with an error, dialling nothing', async () => {
    const { table, attemptsTable } = await migratedTable();
    const port = await freePort();
    const pool = new pg.Pool({
      connectionString: testPostgresUrl.replace(/:\d+\//, `:${port}/`),
      max: 2,
    });
    pool.on('error', () => {});
    closers.push(() => pool.end());
    const { app, logged } = await startApp(pool, table, attemptsTable);

    const started = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
    if (started.outcome !== 'started') throw new Error('no run started');
    const [summary] = await started.finished;
    expect(summary).toMatchObject({ stoppedBy: 'error', placed: 0 });
    expect(app.providerApi.countCalls()).toBe(0);
    const stopped = logged.filter(
      (entry) => entry.message === 'A run stopped on an error; claimed leads are safe.',
    );
    expect(stopped).toHaveLength(1);
    const { error } = stopped[0]!.context as { error: { code?: string; status?: number } };
    expect(error).toMatchObject({ code: 'database_unavailable', status: 503 });
  });
});

// What the dialer's logger is told when the PostgreSQL lead store's write is refused by a
// constraint of the app's own lead table: PostgreSQL puts the whole row in the error's `detail`
// (`Failing row contains (…)`), the lead's phone number with it, and that must not reach logs.
import { inspect } from 'node:util';
import { toError } from '@calltrack/core/internal';
import { connectTestPostgres, dropTables, uniqueTableName } from '@calltrack/test-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { createDialer } from './create-dialer';
import { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createTestClock } from './create-test-clock';
import { createMaskedDialerLogger } from './dialer-logger';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const pool = await connectTestPostgres();
afterAll(async () => {
  await pool?.end();
});

describe.skipIf(!pool)('the dialer’s logged errors', () => {
  it('logs a skip the lead table refused without the row PostgreSQL quoted in the detail', async () => {
    const table = uniqueTableName('refused_skip');
    const attemptsTable = `${table}_attempts`;
    await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
    try {
      // The app's own rule on its table, which the dialer's skip breaks.
      await pool!.query(
        `ALTER TABLE ${table} ADD CONSTRAINT ${table}_no_skips CHECK (dialer_skip_reason IS NULL)`,
      );
      const store = createPostgresLeadStore({ pool: pool!, table, attemptsTable });
      await store.addLeads([
        {
          tenantId: 'acme',
          leadId: 'a',
          userId: 'u1',
          phoneNumber: '+14155550123',
          timeZone: 'America/New_York',
        },
      ]);
      const doNotCall = createMemoryDoNotCallList();
      await doNotCall.add('acme', ['+14155550123']);
      const logged: { message: string; context: Record<string, unknown> | undefined }[] = [];
      const dialer = createDialer({
        store,
        bus: { publish: async () => ({ duplicate: false }) },
        doNotCall,
        accounts: [
          {
            id: 'test',
            control: {
              provider: 'test',
              placeCall: async () => ({ provider: 'test', callId: 'call-1', reference: '' }),
              terminateCall: async () => {},
            },
          },
        ],
        clock: createTestClock(Date.parse('2026-03-02T15:00:00.000Z')), // 10:00 in New York
        logger: { error: (message, context) => logged.push({ message, context }) },
      });
      const run = await dialer.trigger({ tenantId: 'acme', userId: 'u1' });
      if (run.outcome === 'started') await run.finished;

      const refused = logged.find((entry) => entry.message === 'Recording skips failed.');
      expect(refused).toBeDefined();
      const error = refused?.context?.error as { message: string; code?: string; detail?: string };
      // Still says what PostgreSQL refused, and which columns…
      expect(error.code).toBe('23514');
      expect(error.message).toContain(`${table}_no_skips`);
      expect(error.detail).toBe('Failing row contains (…).');
      // …but not the row: the phone number, the lead, its zone.
      const printed = inspect(refused?.context, {
        depth: Number.POSITIVE_INFINITY,
        showHidden: true,
      });
      expect(printed).not.toContain('4155550123');
      expect(printed).not.toContain('America/New_York');
    } finally {
      await dropTables(pool!, [table, attemptsTable]);
    }
  });

  it('logs a PostgreSQL data error (class 22) without the value it quotes in its message', async () => {
    // Real errors of real queries: a phone number where a uuid or an integer was expected.
    const failed = async (text: string): Promise<Error> => {
      const error = await pool!.query(text, ['+14155550123']).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      if (!(error instanceof Error)) throw new Error(`${text} did not fail`);
      return error;
    };
    const invalid = await failed('SELECT $1::uuid');
    const outOfRange = await failed('SELECT id FROM (VALUES (1)) AS v(id) WHERE id = $1');
    expect(invalid).toMatchObject({ code: '22P02' });
    expect(invalid.message).toContain('4155550123');
    expect(outOfRange).toMatchObject({ code: '22003' });
    const logged: Record<string, unknown>[] = [];
    const logger = createMaskedDialerLogger({
      error: (_message, context) => logged.push(context!),
    });
    logger.error('Claiming leads failed.', { error: invalid });
    logger.error('Claiming leads failed.', { error: toError(outOfRange) });
    expect(invalid.message).toBe('invalid input syntax for type uuid: "…"');
    expect(outOfRange.message).toBe('value "…" is out of range for type integer');
    const printed = inspect(logged, { depth: Number.POSITIVE_INFINITY, showHidden: true });
    expect(printed).not.toContain('4155550123');
    expect(printed).toContain('invalid input syntax for type uuid');
  });
});

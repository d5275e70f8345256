import {
  connectTestPostgres,
  connectTestRedis,
  deleteKeys,
  dropTables,
  uniquePrefix,
  uniqueTableName,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { serveDialerApi } from './__tests__/serve-dialer-api';
import { demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import { createRedisLeadStore } from './create-redis-lead-store';
import type { LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const postgres = await connectTestPostgres({ max: 2 });
const redis = await connectTestRedis();
const prefix = uniquePrefix('repeated-leads');
const table = uniqueTableName('dialer_repeated');
if (postgres) {
  await postgres.query(postgresLeadStoreMigration({ table, attemptsTable: `${table}_attempts` }));
}
afterAll(async () => {
  if (postgres) await dropTables(postgres, [`${table}_attempts`, table]);
  await postgres?.end();
  if (redis) await deleteKeys(redis, prefix);
  redis?.disconnect();
});

const closers: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

const stores: [string, () => LeadStore | undefined][] = [
  ['memory', () => createMemoryLeadStore()],
  ['Redis', () => (redis ? createRedisLeadStore({ redis, prefix }) : undefined)],
  [
    'PostgreSQL',
    () =>
      postgres
        ? createPostgresLeadStore({ pool: postgres, table, attemptsTable: `${table}_attempts` })
        : undefined,
  ],
];

describe.each(stores)(
  'POST /dialer/leads with a lead id given twice, on the %s store',
  (_, create) => {
    it('is a 400 naming the id, and adds nothing', async () => {
      const store = create();
      if (store === undefined) return;
      const app = await startDialerApp({ providerApi: { outcome: 'busy' }, dialer: { store } });
      closers.push(() => app.close());
      const { api } = await serveDialerApi(app, store, closers);
      const post = (leads: unknown[]) => api('/dialer/leads', { leads });

      const response = await post([
        { leadId: 'lead-0', phoneNumber: '+14155550100' },
        { leadId: 'lead-1', phoneNumber: '+14155550101' },
        { leadId: 'lead-1', phoneNumber: '+14155550199' },
      ]);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: 'invalid_lead',
          message: 'Lead 2: leadId "lead-1" is given again (as lead 1): give each lead once.',
        },
      });
      for (const leadId of ['lead-0', 'lead-1']) {
        expect(await store.getLead(demoTenant, leadId)).toBeUndefined();
      }

      // The same number twice is a repeat too; each id once is added.
      const same = { leadId: 'lead-2', phoneNumber: '+14155550102' };
      expect((await post([same, same])).status).toBe(400);
      const added = await post([
        { leadId: 'lead-1', phoneNumber: '+14155550101' },
        { leadId: 'lead-2', phoneNumber: '+14155550102' },
      ]);
      expect(added.status).toBe(201);
      expect(await added.json()).toEqual({ added: 2, existing: 0 });
    });
  },
);

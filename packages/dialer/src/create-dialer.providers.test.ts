import type { EventBus } from '@calltrack/bus';
import { createRedisBus } from '@calltrack/bus/redis';
import type { CallStatus } from '@calltrack/core';
import type { SimulatedOutcome } from '@calltrack/simulator';
import {
  connectTestPostgres,
  connectTestRedis,
  deleteKeys,
  dropTables,
  uniquePrefix,
  uniqueTableName,
} from '@calltrack/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  agentNumber,
  type DialerApp,
  demoTenant,
  startDialerApp,
} from './__tests__/start-dialer-app';
import { createPostgresLeadStore } from './create-postgres-lead-store';
import type { LeadInput } from './lead';
import type { LeadStore } from './lead-store';
import { postgresLeadStoreMigration } from './postgres-lead-store-migration';

const redis = await connectTestRedis();
const pool = await connectTestPostgres({ max: 4 });
afterAll(async () => {
  redis?.disconnect();
  await pool?.end();
});

const apps: DialerApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const providers = ['twilio', 'retell', 'callerdesk'] as const;
const outcomes: SimulatedOutcome[] = ['completed', 'busy', 'no-answer', 'failed'];
/** The tracker's terminal status for each simulated outcome. */
const statusOf: Record<SimulatedOutcome, CallStatus> = {
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  voicemail: 'completed',
};

/** Lead `index`: its provider by turn, its outcome by turn; CallerDesk leads are in India. */
function leadAt(index: number): LeadInput & { outcome: SimulatedOutcome } {
  const provider = providers[index % providers.length]!;
  const serial = String(index).padStart(4, '0');
  const india = provider === 'callerdesk';
  return {
    tenantId: demoTenant,
    leadId: `${provider}-${serial}`,
    userId: 'user-1',
    phoneNumber: india ? `+9198450${serial.padStart(5, '0')}` : `+1415555${serial}`,
    timeZone: india ? 'Asia/Kolkata' : 'America/New_York',
    outcome: outcomes[Math.floor(index / providers.length) % outcomes.length]!,
  };
}

/** Where the leads live and what carries the events: in memory, or PostgreSQL and Redis. */
const backends: {
  name: string;
  available: boolean;
  create: () => Promise<{ store?: LeadStore; bus?: EventBus; dispose: () => Promise<void> }>;
}[] = [
  { name: 'in memory', available: true, create: async () => ({ dispose: async () => {} }) },
  {
    name: 'on PostgreSQL and a Redis bus',
    available: redis !== undefined && pool !== undefined,
    create: async () => {
      const table = uniqueTableName('dialer_e2e');
      const attemptsTable = `${table}_attempts`;
      await pool!.query(postgresLeadStoreMigration({ table, attemptsTable }));
      const prefix = uniquePrefix('dialer-e2e');
      const bus = createRedisBus({ redis: redis!, prefix });
      return {
        store: createPostgresLeadStore({ pool: pool!, table, attemptsTable }),
        bus,
        dispose: async () => {
          await dropTables(pool!, [table, attemptsTable]);
          await deleteKeys(redis!, prefix);
        },
      };
    },
  },
];

describe('the dialer through the providers’ CallControl adapters (simulated provider APIs)', () => {
  for (const backend of backends) {
    it.skipIf(!backend.available)(
      `places one call per lead; the webhooks, through the tracker, complete each lead with its outcome (${backend.name})`,
      async () => {
        const { store, bus, dispose } = await backend.create();
        const leads = Array.from({ length: 12 }, (_, index) => leadAt(index));
        const outcomeTo = new Map(leads.map((lead) => [lead.phoneNumber, lead.outcome]));
        const app = await startDialerApp({
          leads,
          providerApi: { outcome: (request) => outcomeTo.get(request.to ?? '') },
          dialer: { maxConcurrentCallsPerUser: 4, ...(store === undefined ? {} : { store }) },
          ...(bus === undefined ? {} : { bus }),
        });
        apps.push({ ...app, close: () => app.close().then(dispose) });
        await runOverProviders(app, leads);
      },
    );
  }

  it('links a call whose webhooks outrun the provider’s answer (delayed answers)', async () => {
    const leads = [leadAt(0), leadAt(1), leadAt(2)];
    const app = await startDialerApp({
      leads,
      // Each call is placed at once and answered 300 ms later: its webhooks (at the simulator's
      // full speed) reach the tracker, and the dialer, before the adapter returns.
      providerApi: { outcome: 'busy', fault: () => ({ type: 'delay', ms: 300 }) },
      dialer: { maxConcurrentCallsPerUser: 3 },
    });
    apps.push(app);
    const result = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
    if (result.outcome !== 'started') throw new Error('no run');
    await result.finished;
    const done = await app.waitForLeads(
      demoTenant,
      leads.map((lead) => lead.leadId),
      (found) => found.every((lead) => lead.callStatus === 'completed'),
    );
    expect(done.map((lead) => lead.callOutcome)).toEqual(['busy', 'busy', 'busy']);
    expect(app.providerApi.calls).toHaveLength(3);
  });

  it('releases a lead the provider refused and places nothing; a second run places nothing again', async () => {
    const leads = [leadAt(0), leadAt(3)];
    const app = await startDialerApp({
      leads,
      providerApi: {
        outcome: 'completed',
        fault: (request) =>
          request.to === leads[1]!.phoneNumber ? { type: 'refuse', status: 400 } : undefined,
      },
    });
    apps.push(app);
    const first = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
    if (first.outcome !== 'started') throw new Error('no run');
    expect((await first.finished)[0]).toMatchObject({ placed: 1, refused: 1 });
    const [called, refused] = await app.waitForLeads(
      demoTenant,
      leads.map((lead) => lead.leadId),
      ([one]) => one?.callStatus === 'completed',
    );
    expect(called).toMatchObject({ callStatus: 'completed', callOutcome: 'completed' });
    expect(refused).toMatchObject({ callStatus: 'pending', hasBeenCalled: false });
    expect(app.providerApi.countCalls()).toBe(1);

    // Again, with the gap passed: the completed lead is not called again.
    await app.clock.advance(180_000);
    app.providerApi.setFault(undefined);
    const second = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
    if (second.outcome !== 'started') throw new Error('no run');
    expect((await second.finished)[0]).toMatchObject({ placed: 1 });
    expect(app.providerApi.countCalls({ to: leads[0]!.phoneNumber })).toBe(1);
    expect(app.providerApi.countCalls({ to: leads[1]!.phoneNumber })).toBe(1);
  });
});

/** One run over `leads`: one call each, and each lead completed as the tracker says. */
async function runOverProviders(
  app: DialerApp,
  leads: (LeadInput & { outcome: SimulatedOutcome })[],
): Promise<void> {
  const result = await app.dialer.trigger({ tenantId: demoTenant, userId: 'user-1' });
  expect(result.outcome).toBe('started');
  if (result.outcome !== 'started') throw new Error('no run started');
  const [summary] = await result.finished;
  expect(summary).toMatchObject({ placed: 12, skipped: 0, refused: 0, unknown: 0 });

  const ids = leads.map((lead) => lead.leadId);
  const done = await app.waitForLeads(demoTenant, ids, (found) =>
    found.every((lead) => lead.callStatus === 'completed'),
  );
  // One call per lead at the provider, with the attempt as its reference.
  expect(app.providerApi.calls).toHaveLength(12);
  for (const lead of done) {
    const input = leads.find((candidate) => candidate.leadId === lead.leadId)!;
    expect(app.providerApi.countCalls({ to: lead.phoneNumber })).toBe(1);
    expect(app.providerApi.countCalls({ reference: lead.attemptId })).toBe(1);
    expect(lead.provider).toBe(input.leadId.split('-')[0]);
    expect(lead.callId).toEqual(expect.any(String));
    expect(lead.callOutcome).toBe(statusOf[input.outcome]);
    // The lead says what the tracker says about its call.
    const call = await app.tracker.getCall(demoTenant, lead.callId!);
    expect(call).toMatchObject({ status: lead.callOutcome, to: lead.phoneNumber });
  }
  // CallerDesk rang the agent first, and the customer second.
  const callerDesk = app.providerApi.calls.filter((call) => call.provider === 'callerdesk');
  expect(callerDesk).toHaveLength(4);
  for (const call of callerDesk) expect(call.agentNumber).toBe(agentNumber.slice(-10));
}

import type { CallEvent } from '@calltrack/core';
import { expect } from 'vitest';
import { createDialer } from '../create-dialer';
import { createTestClock } from '../create-test-clock';
import type { LeadStore } from '../lead-store';

/**
 * 100 leads of one user, every one outside its calling window (03:00 in New York): a run skips
 * them all. Each lead keeps its reason and each skip its `dialer.lead_skipped`, in lead order,
 * before the run's end. Answers how many writes `sent` counted during the run (the caller's
 * counter of statements or commands), which the caller bounds: one per skip was the old way.
 */
export async function checkSkipsRecordedTogether(
  store: LeadStore,
  tenantId: string,
  sent: () => number,
): Promise<number> {
  const leadIds = Array.from(
    { length: 100 },
    (_, index) => `lead-${String(index).padStart(3, '0')}`,
  );
  await store.addLeads(
    leadIds.map((leadId) => ({
      tenantId,
      leadId,
      userId: 'u1',
      phoneNumber: '+14155550100',
      timeZone: 'America/New_York',
    })),
  );
  const published: CallEvent[] = [];
  const dialer = createDialer({
    store,
    bus: {
      publish: async (event) => {
        published.push(event);
        return { duplicate: false };
      },
    },
    accounts: [
      {
        id: 'test',
        control: {
          provider: 'test',
          placeCall: async () => {
            throw new Error('no lead is in its window');
          },
          terminateCall: async () => {},
        },
      },
    ],
    clock: createTestClock(Date.parse('2026-03-02T08:00:00.000Z')), // 03:00 in New York
    logger: {},
  });
  const before = sent();
  const run = await dialer.trigger({ tenantId, userId: 'u1' });
  if (run.outcome !== 'started') throw new Error(`no run: ${run.outcome}`);
  const summaries = await run.finished;
  const during = sent() - before;
  expect(summaries).toMatchObject([{ skipped: 100, placed: 0, notClaimed: 0 }]);
  expect(published.map((event) => event.type)).toEqual([
    'dialer.run_started',
    ...leadIds.map(() => 'dialer.lead_skipped'),
    'dialer.run_finished',
  ]);
  expect(
    published
      .filter((event) => event.type === 'dialer.lead_skipped')
      .map((event) => [event.data?.leadId, event.data?.reason, event.data?.retryAt]),
  ).toEqual(
    leadIds.map((leadId) => [leadId, 'outside_calling_window', '2026-03-02T14:00:00.000Z']),
  );
  const leads = await store.listLeads({ tenantId, userId: 'u1', limit: 1_000 });
  expect(
    leads.map((lead) => [lead.leadId, lead.callStatus, lead.skipReason, lead.skippedAt]),
  ).toEqual(
    leadIds.map((leadId) => [
      leadId,
      'pending',
      'outside_calling_window',
      Date.parse('2026-03-02T08:00:00.000Z'),
    ]),
  );
  return during;
}

import type { CallEvent } from '@calltrack/core';
import { expect } from 'vitest';
import { createDialer } from '../create-dialer';
import { createTestClock } from '../create-test-clock';
import type { LeadStore } from '../lead-store';
import { createTestCallControl } from './create-test-call-control';
import { startProviderServer } from './provider-server';

/**
 * The loopback provider places two calls and answers them with a call id no store can keep (a
 * NUL, which PostgreSQL refuses; a lone surrogate, which Redis would keep as U+FFFD) and no event
 * can carry. The dialer must take each answer as an ambiguous failure on every store: the attempt
 * `unknown` with its reason, for webhooks (by reference) or the reconciler to settle; the lead
 * never dialled again meanwhile; a `lookupCall` answering such an id cannot tell either.
 */
export async function checkUnrecordableCallAnswers(
  store: LeadStore,
  tenantId: string,
): Promise<void> {
  const t0 = Date.parse('2026-03-02T15:00:00.000Z');
  const server = await startProviderServer();
  const clock = createTestClock(t0);
  const numbers = ['+14155550101', '+14155550102', '+14155550103'] as const;
  const leadIds = ['lead-1', 'lead-2', 'lead-3'] as const;
  await store.addLeads(
    leadIds.map((leadId, index) => ({
      tenantId,
      leadId,
      userId: 'u1',
      phoneNumber: numbers[index]!,
      timeZone: 'America/New_York',
    })),
  );
  server.faults.set(numbers[0], 'nul-sid');
  server.faults.set(numbers[1], 'lone-surrogate-sid');
  const published: CallEvent[] = [];
  const logged: { level: string; message: string; context: Record<string, unknown> }[] = [];
  const log =
    (level: string) =>
    (message: string, context: Record<string, unknown> = {}): void => {
      logged.push({ level, message, context });
    };
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
        id: 'twilio-main',
        callsPerSecond: 1000,
        control: createTestCallControl({
          baseUrl: server.url,
          accountSid: server.accountSid,
          authToken: server.authToken,
        }),
      },
    ],
    clock,
    maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
    minAttemptGapMs: 120_000,
    unknownSettleMs: 600_000,
    // The provider's call list holds the same ids: it cannot tell either.
    lookupCall: async (attempt) => ({
      placed: true,
      callId: server.calls.find((call) => call.reference === attempt.attemptId)?.sid,
    }),
    logger: { warn: log('warn'), error: log('error') },
  });
  const run = async () => {
    const started = await dialer.trigger({ tenantId, userId: 'u1' });
    return started.outcome === 'started' ? await started.finished : [];
  };
  try {
    const [summary] = await run();
    expect(summary).toMatchObject({ placed: 1, unknown: 2, refused: 0, notClaimed: 0 });
    const attemptOf = async (leadId: string) => {
      const lead = await store.getLead(tenantId, leadId);
      return await store.getAttempt(tenantId, lead!.attemptId!);
    };
    for (const leadId of leadIds.slice(0, 2)) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({
        callStatus: 'unknown',
        hasBeenCalled: true,
        callId: undefined,
      });
      expect(await attemptOf(leadId)).toMatchObject({
        state: 'unknown',
        reason: 'ambiguous:invalid_call_id',
        callId: undefined,
        leaseUntil: t0 + 600_000,
      });
    }
    expect(await store.getLead(tenantId, 'lead-3')).toMatchObject({
      callStatus: 'placed',
      callId: server.calls.find((call) => call.to === numbers[2])!.sid,
    });
    expect(published.filter((event) => event.type === 'dialer.call_placed')).toMatchObject([
      { data: { leadId: 'lead-3' } },
    ]);
    const first = await attemptOf('lead-1');
    const second = await attemptOf('lead-2');
    expect(logged).toEqual([
      {
        level: 'warn',
        message:
          'The provider answered with a call id no event or store can keep; the attempt is unknown, for webhooks or a lookup to settle.',
        context: expect.objectContaining({ leadId: 'lead-1', attemptId: first!.attemptId }),
      },
      {
        level: 'warn',
        message:
          'The provider answered with a call id no event or store can keep; the attempt is unknown, for webhooks or a lookup to settle.',
        context: expect.objectContaining({ leadId: 'lead-2', attemptId: second!.attemptId }),
      },
    ]);
    logged.length = 0;

    // Past the gap between attempts: nothing is dialled again.
    await clock.advance(120_000);
    await run();
    expect(numbers.map((number) => server.callsTo(number))).toEqual([1, 1, 1]);

    // A webhook that carries the reference settles the first as any unknown attempt.
    expect(
      await dialer.handleCallEvent({
        id: `unrecordable-test:${first!.attemptId}`,
        type: 'call.ringing',
        tenantId,
        provider: 'twilio',
        callId: 'CA-from-the-webhook',
        status: 'ringing',
        occurredAt: new Date(clock.now()).toISOString(),
        receivedAt: new Date(clock.now()).toISOString(),
        data: { reference: first!.attemptId },
      }),
    ).toBe('updated');
    expect(await store.getLead(tenantId, 'lead-1')).toMatchObject({
      callStatus: 'placed',
      callId: 'CA-from-the-webhook',
    });

    // The second is left to the reconciler: its lookup answers the same id, so it cannot tell.
    await clock.advance(600_000);
    expect(await dialer.reconcile()).toEqual({ orphaned: 1, settled: 0 });
    expect(await attemptOf('lead-2')).toMatchObject({ state: 'orphaned', callId: undefined });
    expect(logged.map(({ level, message }) => [level, message])).toEqual([
      [
        'warn',
        'lookupCall answered a call id no event or store can keep; the attempt is orphaned for review.',
      ],
      ['warn', 'Attempt orphaned for review; the lead is not redialled.'],
    ]);
    await run();
    expect(numbers.map((number) => server.callsTo(number))).toEqual([1, 1, 1]);
  } finally {
    await dialer.stop();
    await server.close();
  }
}

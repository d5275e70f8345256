import { createHash } from 'node:crypto';
import { createMemoryBus } from '@calltrack/bus';
import {
  type CallControl,
  type CallEvent,
  InvalidArgumentError,
  NotFoundError,
} from '@calltrack/core';
import { createCallTracker } from '@calltrack/tracker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestCallControl } from './__tests__/create-test-call-control';
import { type ProviderServer, startProviderServer } from './__tests__/provider-server';
import { createDialer } from './create-dialer';
import { createMemoryCallPacer } from './create-memory-call-pacer';
import { createMemoryDialerLocks } from './create-memory-dialer-locks';
import { createMemoryDoNotCallList } from './create-memory-do-not-call-list';
import { createMemoryLeadStore } from './create-memory-lead-store';
import { createTestClock, type TestClock } from './create-test-clock';
import type { DialerOptions } from './dialer';
import type { DialerLocks } from './dialer-locks';
import type { DoNotCallList } from './do-not-call-list';
import type { LeadInput } from './lead';
import type { LeadStore } from './lead-store';

// 2026-03-02 15:00 UTC is 10:00 in New York: inside the default window.
const start = Date.parse('2026-03-02T15:00:00.000Z');
const tenantId = 'acme';
const principal = { tenantId, userId: 'user-1' };
const servers: ProviderServer[] = [];
const stoppers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0)) await stop();
  for (const server of servers.splice(0)) await server.close();
});

const number = (index: number): string => `+1415555${String(index).padStart(4, '0')}`;
const lead = (index: number, extra: Partial<LeadInput> = {}): LeadInput => ({
  tenantId,
  leadId: `lead-${String(index).padStart(3, '0')}`,
  userId: 'user-1',
  phoneNumber: number(index),
  timeZone: 'America/New_York',
  ...extra,
});

/**
 * A memory store with `count` leads whose calls went out from a dialer that then stopped: the
 * first `placedCount` `placed` (call ids `CA-<index>`), the rest `unknown`, leased 60 s.
 */
async function storeWithCallsOut(count: number, placedCount = count) {
  const store = createMemoryLeadStore();
  const leads = Array.from({ length: count }, (_, index) => lead(index));
  await store.addLeads(leads);
  for (const [index, { leadId }] of leads.entries()) {
    const [claim] = await store.claimLeads({
      tenantId,
      leadIds: [leadId],
      now: start,
      leaseMs: 60_000,
      claimedBy: 'stopped',
    });
    if (!claim?.claimed) throw new Error(`${leadId} not claimed`);
    const placed = index < placedCount;
    await store.updateAttempt({
      tenantId,
      leadId,
      attemptId: claim.attempt.attemptId,
      fence: claim.attempt.fence,
      state: placed ? 'placed' : 'unknown',
      now: start,
      provider: 'twilio',
      callId: `CA-${index}`,
      ...(placed ? {} : { leaseMs: 60_000 }),
    });
  }
  return store;
}

async function setUp(
  overrides: Partial<DialerOptions> & { clock?: TestClock } = {},
  leads: LeadInput[] = [],
) {
  const server = await startProviderServer();
  servers.push(server);
  const clock: TestClock = overrides.clock ?? createTestClock(start);
  const store: LeadStore = overrides.store ?? createMemoryLeadStore();
  await store.addLeads(leads);
  const bus = createMemoryBus();
  const events: CallEvent[] = [];
  const recording = {
    publish: async (event: CallEvent) => {
      events.push(event);
      return bus.publish(event);
    },
    subscribe: bus.subscribe.bind(bus),
  };
  const control = createTestCallControl({
    baseUrl: server.url,
    accountSid: server.accountSid,
    authToken: server.authToken,
  });
  const warnings: string[] = [];
  const dialer = createDialer({
    store,
    bus: recording,
    accounts: [{ id: 'twilio-main', control, callsPerSecond: 1000 }],
    clock,
    maxConcurrentCallsPerUser: Number.POSITIVE_INFINITY,
    logger: {
      warn: (message) => warnings.push(message),
      error: (message) => warnings.push(message),
    },
    ...overrides,
  });
  stoppers.push(async () => {
    await dialer.stop();
    await bus.close();
  });
  return { server, clock, store, bus, events, dialer, warnings };
}

async function runToEnd(
  dialer: ReturnType<typeof createDialer>,
  who = principal,
): Promise<Awaited<ReturnType<typeof dialer.trigger>>> {
  const result = await dialer.trigger(who);
  if (result.outcome === 'started') await result.finished;
  return result;
}

describe('createDialer', () => {
  it('calls every pending lead once, in order, and never again: not after a reload, not on a new trigger', async () => {
    const leads = [lead(1), lead(2), lead(3)];
    const { server, store, events, dialer } = await setUp({}, leads);
    const result = await dialer.trigger(principal);
    expect(result.outcome).toBe('started');
    if (result.outcome !== 'started') throw new Error('no run started');
    const [summary] = await result.finished;
    expect(summary).toMatchObject({ placed: 3, skipped: 0, refused: 0, unknown: 0, notClaimed: 0 });
    expect(server.calls.map((call) => call.to)).toEqual([number(1), number(2), number(3)]);
    for (const [index, call] of server.calls.entries()) {
      const stored = await store.getLead(tenantId, leads[index]!.leadId);
      expect(stored).toMatchObject({ callStatus: 'placed', hasBeenCalled: true, callId: call.sid });
      expect(call.reference).toBe(stored?.attemptId);
    }
    expect(events.map((event) => event.type)).toEqual([
      'dialer.run_started',
      'dialer.call_placed',
      'dialer.call_placed',
      'dialer.call_placed',
      'dialer.run_finished',
    ]);
    expect(events.every((event) => event.userId === 'user-1' && event.tenantId === tenantId)).toBe(
      true,
    );
    expect(events[1]).toMatchObject({
      provider: 'twilio',
      callId: server.calls[0]!.sid,
      to: number(1),
      direction: 'outbound',
      data: { leadId: 'lead-001', reference: server.calls[0]!.reference, account: 'twilio-main' },
    });
    // The page is reloaded: the same leads come again, and the seed triggers again.
    expect(await store.addLeads(leads)).toEqual({ added: 0, existing: 3, conflicts: [] });
    await runToEnd(dialer);
    expect(server.calls).toHaveLength(3);
  });

  it('publishes the skip of a lead whose id is as long as a lead id may be (256 characters)', async () => {
    const long = (last: string) => `${'l'.repeat(255)}${last}`;
    const leads = [
      lead(1, { leadId: long('a'), phoneNumber: '555-0100' }),
      lead(2, { leadId: long('b'), phoneNumber: '555-0100' }),
    ];
    const { events, dialer, warnings, bus } = await setUp({}, leads);
    const published: CallEvent[] = [];
    const subscription = bus.subscribe({ tenantId, types: ['dialer.lead_skipped'] });
    await subscription.ready;
    await runToEnd(dialer);
    expect(warnings).toEqual([]);
    for await (const message of subscription) {
      if (message.type === 'event') published.push(message.event);
      if (published.length === 2) break;
    }
    expect(published.map((event) => [event.data.leadId, event.data.reason])).toEqual([
      [long('a'), 'invalid_phone'],
      [long('b'), 'invalid_phone'],
    ]);
    const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
    expect(new Set(skipped.map((event) => event.id)).size).toBe(2);
  });

  it('runs the gates before the claim: a gated lead is skipped with a reason, never claimed, never called', async () => {
    const doNotCall = createMemoryDoNotCallList();
    await doNotCall.add(tenantId, [number(2)]);
    const leads = [
      lead(1),
      lead(2),
      lead(3, { timeZone: 'Asia/Tokyo' }), // 00:00 in Tokyo
      lead(4, { timeZone: undefined }),
      lead(5, { timeZone: 'Mars/Olympus_Mons' }),
      lead(6, { phoneNumber: '555-0100' }),
      lead(7),
    ];
    const { server, store, events, dialer } = await setUp(
      { doNotCall, isDoNotCall: (candidate) => candidate.phoneNumber === number(7) },
      leads,
    );
    await runToEnd(dialer);
    expect(server.calls.map((call) => call.to)).toEqual([number(1)]);
    const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
    expect(skipped.map((event) => [event.data.leadId, event.data.reason])).toEqual([
      ['lead-002', 'do_not_call'],
      ['lead-003', 'outside_calling_window'],
      ['lead-004', 'missing_time_zone'],
      ['lead-005', 'invalid_time_zone'],
      ['lead-006', 'invalid_phone'],
      ['lead-007', 'do_not_call'],
    ]);
    // Tokyo opens at 09:00 JST = 00:00 UTC the next day.
    expect(skipped[1]?.data.retryAt).toBe('2026-03-03T00:00:00.000Z');
    for (const [leadId, reason] of [
      ['lead-002', 'do_not_call'],
      ['lead-004', 'missing_time_zone'],
    ] as const) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({
        callStatus: 'pending',
        hasBeenCalled: false,
        fence: 0,
        skipReason: reason,
        skippedAt: start,
      });
    }
    const finished = events.at(-1)!;
    expect(finished.data).toMatchObject({
      placed: 1,
      skipped: 6,
      nextRetryAt: '2026-03-03T00:00:00.000Z',
    });
  });

  it('gives a skip the id dialer:<runId>:skipped:<leadId>, or skipped-sha256:<hex> for a lead id too long for 256 characters (README, Events)', async () => {
    const longId = `lead-${'x'.repeat(251)}`; // 256 characters, as long as a lead id may be
    const leads = [
      lead(1, { phoneNumber: '555-0100' }),
      lead(2, { leadId: longId, phoneNumber: '555-0101' }),
    ];
    const { events, dialer } = await setUp({}, leads);
    const result = await runToEnd(dialer);
    if (result.outcome !== 'started') throw new Error('no run');
    const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
    const hex = createHash('sha256').update(longId).digest('hex');
    expect(skipped.map((event) => [event.id, event.userId, event.data.reason])).toEqual([
      [`dialer:${result.runId}:skipped:lead-001`, 'user-1', 'invalid_phone'],
      [`dialer:${result.runId}:skipped-sha256:${hex}`, 'user-1', 'invalid_phone'],
    ]);
    expect(skipped[1]!.data.leadId).toBe(longId);
    for (const event of skipped) expect(event.id.length).toBeLessThanOrEqual(256);
  });

  it('releases a lead the provider refused (4xx) and calls it again only after the gap, within the cap', async () => {
    const { server, store, clock, dialer } = await setUp(
      { maxAttempts: 2, minAttemptGapMs: 120_000 },
      [lead(1)],
    );
    server.faults.set(number(1), 'refuse');
    await runToEnd(dialer);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'pending',
      hasBeenCalled: false,
      attemptCount: 1,
    });
    const [released] = await store.listAttempts({ tenantId, limit: 1 });
    expect(released).toMatchObject({ state: 'released', reason: 'refused:provider_api_error' });
    await runToEnd(dialer); // too soon
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({ skipReason: 'too_soon' });
    await clock.advance(120_000);
    server.faults.delete(number(1));
    await runToEnd(dialer);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'placed',
      attemptCount: 2,
      fence: 2,
    });
    expect(server.callsTo(number(1))).toBe(1);
  });

  it('marks an ambiguous failure unknown, never dials it again, and lets a webhook or a lookup settle it', async () => {
    const leads = [lead(1), lead(2), lead(3)];
    const { server, store, clock, dialer } = await setUp(
      {
        placeCallTimeoutMs: 300,
        unknownSettleMs: 60_000,
        lookupCall: async (attempt) => {
          const response = await fetch(`${server.url}/test/calls?reference=${attempt.attemptId}`);
          const found = (await response.json()) as { sid: string }[];
          return found[0] ? { placed: true, callId: found[0].sid } : undefined;
        },
      },
      leads,
    );
    server.faults.set(number(1), 'fail-after'); // placed, then 500
    server.faults.set(number(2), 'hang'); // placed, answer never comes
    server.faults.set(number(3), 'cut-body'); // placed, 201, then the body is cut
    await runToEnd(dialer);
    server.releaseHeld();
    for (const leadId of ['lead-001', 'lead-002', 'lead-003']) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({ callStatus: 'unknown' });
    }
    await runToEnd(dialer);
    await clock.advance(3_600_000);
    await runToEnd(dialer);
    expect(server.callsTo(number(1))).toBe(1);
    expect(server.callsTo(number(2))).toBe(1);
    expect(server.callsTo(number(3))).toBe(1);
    // A webhook that echoes the reference (CallerDesk's campid) settles lead-002.
    const attempt2 = (await store.getLead(tenantId, 'lead-002'))!.attemptId!;
    expect(
      await dialer.handleCallEvent(
        callEvent('call.ended', 'CD-77', {
          provider: 'callerdesk',
          status: 'no-answer',
          data: { campaignId: attempt2 },
        }),
      ),
    ).toBe('updated');
    expect(await store.getLead(tenantId, 'lead-002')).toMatchObject({
      callStatus: 'completed',
      callOutcome: 'no-answer',
      callId: 'CD-77',
    });
    // The reconciler asks the provider about lead-001 and lead-003: the calls exist, so they are
    // placed.
    expect(await dialer.reconcile()).toEqual({ orphaned: 0, settled: 2 });
    for (const index of [1, 3]) {
      expect(await store.getLead(tenantId, lead(index).leadId)).toMatchObject({
        callStatus: 'placed',
        callId: server.calls.find((call) => call.to === number(index))!.sid,
      });
    }
  });

  it('gives up on a dial whose adapter ignores its signal after placeCallTimeoutMs: unknown, never dialled again, and the run ends', async () => {
    // An adapter over an SDK that takes no AbortSignal, whose request never comes back.
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      placeCall: (request) => {
        dialled.push(request.to);
        return new Promise(() => {});
      },
      terminateCall: async () => {},
    };
    const { store, dialer } = await setUp(
      { accounts: [{ id: 'sdk', control, callsPerSecond: 1000 }], placeCallTimeoutMs: 200 },
      [lead(1), lead(2)],
    );
    const ended = async () => {
      let timer: NodeJS.Timeout | undefined;
      const held = new Promise<'held'>((resolve) => {
        timer = setTimeout(() => resolve('held'), 5_000);
      });
      const result = await Promise.race([runToEnd(dialer), held]);
      clearTimeout(timer);
      return result;
    };
    // It held the run (and the user's run lease) for good: no run of the user ever again.
    expect(await ended()).toMatchObject({ outcome: 'started' });
    for (const leadId of ['lead-001', 'lead-002']) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({ callStatus: 'unknown' });
    }
    expect((await store.listAttempts({ tenantId, limit: 10 })).map((a) => a.reason)).toEqual([
      'ambiguous:timeout',
      'ambiguous:timeout',
    ]);
    expect(await ended()).toMatchObject({ outcome: 'started' });
    expect(dialled).toEqual([number(1), number(2)]);
  });

  it('skips a lead whose isDoNotCall never answers after hookTimeoutMs, never calling it (fail closed), and the run goes on', async () => {
    const asked: string[] = [];
    const signals: AbortSignal[] = [];
    const { server, store, clock, events, dialer, warnings } = await setUp(
      {
        hookTimeoutMs: 5_000,
        // A registry lookup over an SDK that takes no signal, whose request never comes back.
        isDoNotCall: (candidate, check?: { signal: AbortSignal }) => {
          asked.push(candidate.leadId);
          if (check !== undefined) signals.push(check.signal);
          return candidate.leadId === 'lead-001' ? new Promise<boolean>(() => {}) : false;
        },
      },
      [lead(1), lead(2)],
    );
    const result = await dialer.trigger(principal);
    if (result.outcome !== 'started') throw new Error('no run started');
    let summary: unknown;
    void result.finished.then(([first]) => {
      summary = first;
    });
    await vi.waitFor(() => expect(asked).toEqual(['lead-001']));
    await clock.advance(4_999);
    expect(asked).toEqual(['lead-001']);
    await clock.advance(1);
    // It held the run, and the user's run lease, for good.
    await vi.waitFor(() => expect(summary).toMatchObject({ placed: 1, skipped: 1 }));
    expect(server.calls.map((call) => call.to)).toEqual([number(2)]);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'pending',
      hasBeenCalled: false,
      skipReason: 'do_not_call_unavailable',
    });
    const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
    expect(skipped.map((event) => [event.data.leadId, event.data.reason])).toEqual([
      ['lead-001', 'do_not_call_unavailable'],
    ]);
    // The hook given up on is told so, to stop its request.
    expect(signals[0]?.aborted).toBe(true);
    expect(warnings).toContain('The do-not-call check failed; the lead is skipped, not called.');
  });

  it('reads the do-not-call list after a slow isDoNotCall: a number listed while the hook was asked is skipped, not dialled', async () => {
    const doNotCall = createMemoryDoNotCallList();
    let asked = 0;
    let answer: (doNotCall: boolean) => void = () => {};
    const { server, store, clock, events, dialer } = await setUp(
      {
        doNotCall,
        // A registry lookup that takes seconds; its second ask is the one at dial time, after
        // the pacing wait. The number is put on the list while that lookup runs.
        isDoNotCall: () => {
          asked += 1;
          return asked === 1 ? false : new Promise<boolean>((resolve) => (answer = resolve));
        },
      },
      [lead(1)],
    );
    const result = await dialer.trigger(principal);
    if (result.outcome !== 'started') throw new Error('no run started');
    await vi.waitFor(() => expect(asked).toBe(2));
    await doNotCall.add(tenantId, [number(1)]);
    await clock.advance(3_000);
    answer(false);
    const [summary] = await result.finished;
    expect(summary).toMatchObject({ placed: 0, skipped: 1 });
    expect(server.calls).toEqual([]);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'pending',
      hasBeenCalled: false,
      skipReason: 'do_not_call',
    });
    const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
    expect(skipped.map((event) => [event.data.leadId, event.data.reason])).toEqual([
      ['lead-001', 'do_not_call'],
    ]);
  });

  it('stops at once while isDoNotCall is asked: stop() does not wait for the hook, and the lead is neither called nor skipped', async () => {
    let asked = 0;
    const { server, store, dialer } = await setUp(
      {
        isDoNotCall: () => {
          asked += 1;
          return new Promise<boolean>(() => {});
        },
      },
      [lead(1)],
    );
    const result = await dialer.trigger(principal);
    if (result.outcome !== 'started') throw new Error('no run started');
    await vi.waitFor(() => expect(asked).toBe(1));
    let stopped = false;
    void dialer.stop().then(() => {
      stopped = true;
    });
    // The clock stands still: only the stop ends the wait.
    await vi.waitFor(() => expect(stopped).toBe(true));
    expect((await result.finished)[0]).toMatchObject({
      placed: 0,
      skipped: 0,
      stoppedBy: 'stopped',
    });
    expect(server.calls).toHaveLength(0);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'pending',
      hasBeenCalled: false,
    });
    expect((await store.getLead(tenantId, 'lead-001'))?.skipReason).toBeUndefined();
  });

  it('stops a run whose agentNumber never answers after hookTimeoutMs, calling nobody, and lets the next run start', async () => {
    let answering = false;
    let asked = 0;
    const signals: AbortSignal[] = [];
    const { server, store, clock, dialer } = await setUp(
      {
        hookTimeoutMs: 5_000,
        agentNumber: (_user, hook?: { signal: AbortSignal }) => {
          asked += 1;
          if (hook !== undefined) signals.push(hook.signal);
          return answering ? '+14155550199' : new Promise<string>(() => {});
        },
      },
      [lead(1), lead(2)],
    );
    const result = await dialer.trigger(principal);
    if (result.outcome !== 'started') throw new Error('no run started');
    let summary: unknown;
    void result.finished.then(([first]) => {
      summary = first;
    });
    await vi.waitFor(() => expect(asked).toBe(1));
    await clock.advance(5_000);
    await vi.waitFor(() => expect(summary).toMatchObject({ placed: 0, stoppedBy: 'error' }));
    expect(signals[0]?.aborted).toBe(true);
    expect(server.calls).toHaveLength(0);
    for (const leadId of ['lead-001', 'lead-002']) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({ callStatus: 'pending' });
    }
    // The run lease was given back: the next trigger runs, and calls both.
    answering = true;
    expect(await runToEnd(dialer)).toMatchObject({ outcome: 'started' });
    expect(server.calls.map((call) => call.to)).toEqual([number(1), number(2)]);
  });

  it('takes the answer of an adapter that answers without a promise (plain JavaScript) as placed', async () => {
    const control = {
      provider: 'test',
      placeCall: (request: { reference?: string }) => ({
        provider: 'test',
        callId: 'call-1',
        reference: request.reference,
      }),
      terminateCall: async () => {},
    } as unknown as CallControl;
    const { store, dialer } = await setUp(
      { accounts: [{ id: 'plain', control, callsPerSecond: 1000 }] },
      [lead(1)],
    );
    await runToEnd(dialer);
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'placed',
      callId: 'call-1',
    });
  });

  it('orphans a claim whose process died before the dial, for review; never redials it; a reviewer can release it', async () => {
    const { server, store, clock, dialer } = await setUp({ attemptLeaseMs: 60_000 }, [lead(1)]);
    // Another process claimed lead-001 and died.
    await store.claimLeads({
      tenantId,
      leadIds: ['lead-001'],
      now: start,
      leaseMs: 60_000,
      claimedBy: 'dead',
    });
    await runToEnd(dialer);
    expect(await dialer.reconcile()).toEqual({ orphaned: 0, settled: 0 });
    await clock.advance(60_000);
    expect(await dialer.reconcile()).toEqual({ orphaned: 1, settled: 0 });
    const stored = await store.getLead(tenantId, 'lead-001');
    expect(stored).toMatchObject({ callStatus: 'orphaned', hasBeenCalled: true, fence: 2 });
    await runToEnd(dialer);
    expect(server.calls).toHaveLength(0);
    const [orphan] = await store.listAttempts({ tenantId, state: 'orphaned', limit: 10 });
    expect(orphan).toMatchObject({ reason: 'lease_expired', claimedBy: 'dead' });
    expect((await dialer.releaseAttempt(tenantId, orphan!.attemptId)).applied).toBe(true);
    await clock.advance(120_000);
    await runToEnd(dialer);
    expect(server.callsTo(number(1))).toBe(1);
    await expect(dialer.releaseAttempt(tenantId, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('orphans an unknown attempt whose lookupCall throws or never answers (given placeCallTimeoutMs), so one lookup cannot stop the reconciler', async () => {
    const asked: string[] = [];
    const signals: AbortSignal[] = [];
    const { store, clock, dialer, warnings } = await setUp(
      {
        unknownSettleMs: 60_000,
        placeCallTimeoutMs: 15_000,
        lookupCall: (attempt, lookup?: { signal: AbortSignal }) => {
          asked.push(attempt.leadId);
          if (lookup !== undefined) signals.push(lookup.signal);
          // Not an async function: it throws at once for one attempt, and for the other asks a
          // provider API that never answers.
          if (attempt.leadId === 'lead-001') throw new Error('no call id to look up');
          return new Promise<undefined>(() => {});
        },
      },
      [lead(1), lead(2), lead(3)],
    );
    // Dials that failed ambiguously in a process that is gone: unknown, for webhooks or lookups.
    for (const leadId of ['lead-001', 'lead-002']) {
      const [claim] = await store.claimLeads({
        tenantId,
        leadIds: [leadId],
        now: start,
        leaseMs: 60_000,
        claimedBy: 'gone',
      });
      if (!claim?.claimed) throw new Error('not claimed');
      await store.updateAttempt({
        tenantId,
        leadId,
        attemptId: claim.attempt.attemptId,
        fence: claim.attempt.fence,
        state: 'unknown',
        now: start,
        leaseMs: 60_000,
      });
    }
    // A claim left by a process that died before its dial, after them.
    await store.claimLeads({
      tenantId,
      leadIds: ['lead-003'],
      now: start + 1_000,
      leaseMs: 60_000,
      claimedBy: 'gone',
    });
    await clock.advance(61_000);
    let report: Awaited<ReturnType<typeof dialer.reconcile>> | undefined;
    const reconciled = dialer.reconcile().then((answer) => {
      report = answer;
    });
    await vi.waitFor(() => expect(asked).toEqual(['lead-001', 'lead-002']));
    await clock.advance(15_000);
    await vi.waitFor(() => expect(report).toEqual({ orphaned: 3, settled: 0 }));
    await reconciled;
    for (const leadId of ['lead-001', 'lead-002', 'lead-003']) {
      expect(await store.getLead(tenantId, leadId)).toMatchObject({ callStatus: 'orphaned' });
    }
    // The lookup that was given up on is told so, to stop its request.
    expect(signals.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(warnings).toContain('lookupCall failed; the attempt is orphaned for review.');
  });

  it('takes an answer of your own adapter that no store can keep (no answer, a provider with a NUL, a call id too long) as ambiguous, naming what', async () => {
    const answers: unknown[] = [
      undefined,
      { provider: 'te\u0000st', callId: 'call-1', reference: undefined },
      { provider: 'test', callId: 'c'.repeat(257), reference: undefined },
      { provider: 'test', callId: '', reference: undefined },
    ];
    const control: CallControl = {
      provider: 'test',
      placeCall: async () => answers.shift() as Awaited<ReturnType<CallControl['placeCall']>>,
      terminateCall: async () => {},
    };
    const { store, dialer, events } = await setUp(
      { accounts: [{ id: 'test', control, callsPerSecond: 1000 }] },
      [lead(1), lead(2), lead(3), lead(4)],
    );
    await runToEnd(dialer);
    const reasons = [];
    for (const index of [1, 2, 3, 4]) {
      const stored = await store.getLead(tenantId, lead(index).leadId);
      const attempt = await store.getAttempt(tenantId, stored!.attemptId!);
      reasons.push([stored?.callStatus, attempt?.state, attempt?.reason, attempt?.callId]);
    }
    expect(reasons).toEqual([
      ['unknown', 'unknown', 'ambiguous:invalid_answer', undefined],
      ['unknown', 'unknown', 'ambiguous:invalid_provider', undefined],
      ['unknown', 'unknown', 'ambiguous:invalid_call_id', undefined],
      ['unknown', 'unknown', 'ambiguous:invalid_call_id', undefined],
    ]);
    expect(events.filter((event) => event.type === 'dialer.call_placed')).toEqual([]);
    expect(events.find((event) => event.type === 'dialer.run_finished')?.data).toMatchObject({
      placed: 0,
      unknown: 4,
    });
  });

  it("refuses a stale holder's writes: a dial that answers after its attempt was taken over changes nothing", async () => {
    const { server, store, clock, dialer, warnings } = await setUp(
      { attemptLeaseMs: 10_000, placeCallTimeoutMs: 5_000 },
      [lead(1)],
    );
    server.faults.set(number(1), 'hang');
    const result = await dialer.trigger(principal);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // The holder is stuck in the dial past its lease; the reconciler takes the attempt over.
    await clock.advance(10_000);
    expect(await dialer.reconcile()).toEqual({ orphaned: 1, settled: 0 });
    const before = await store.getLead(tenantId, 'lead-001');
    // The provider answers late (a 5xx): the holder tries to record `unknown`, fenced out.
    server.releaseHeld();
    if (result.outcome === 'started') await result.finished;
    expect(await store.getLead(tenantId, 'lead-001')).toEqual(before);
    expect(warnings).toContain(
      'A write about an attempt was refused by the fence; it changed nothing.',
    );
  });

  it('schedules one follow-up for triggers that come while a run is active, never a parallel run', async () => {
    const { server, events, dialer } = await setUp({}, [lead(1), lead(2)]);
    server.faults.set(number(1), 'hang');
    const first = await dialer.trigger(principal);
    const second = await dialer.trigger(principal);
    const third = await dialer.trigger(principal);
    expect([first.outcome, second.outcome, third.outcome]).toEqual([
      'started',
      'follow_up_scheduled',
      'follow_up_scheduled',
    ]);
    while (server.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    server.releaseHeld();
    if (first.outcome !== 'started') throw new Error('no run started');
    const summaries = await first.finished;
    expect(summaries.map((summary) => summary.placed + summary.unknown)).toEqual([2, 0]);
    const runs = events.filter((event) => event.type.startsWith('dialer.run_'));
    expect(runs.map((event) => [event.type, event.data.cause ?? ''])).toEqual([
      ['dialer.run_started', 'trigger'],
      ['dialer.run_finished', 'trigger'],
      ['dialer.run_started', 'follow_up'],
      ['dialer.run_finished', 'follow_up'],
    ]);
    // Another user's run is independent.
    expect((await dialer.trigger({ tenantId, userId: 'user-2' })).outcome).toBe('started');
  });

  it('stops counting a placed call whose end never came against maxConcurrentCallsPerUser after liveCallMaxMs, 1 hour by default (README)', async () => {
    const { server, clock, dialer } = await setUp({ maxConcurrentCallsPerUser: 1 }, [
      lead(1),
      lead(2),
    ]);
    const run = await dialer.trigger(principal);
    if (run.outcome !== 'started') throw new Error('no run started');
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // lead-001's call is placed and its end never arrives: lead-002 waits for the line.
    await clock.advance(3_600_000);
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(server.calls.map((call) => call.to)).toEqual([number(1)]);
    // Past the hour the call no longer holds the line.
    await clock.advance(1_000);
    const [summary] = await run.finished;
    expect(summary).toMatchObject({ placed: 2 });
    expect(server.calls.map((call) => call.to)).toEqual([number(1), number(2)]);
  });

  it('keeps a follow-up asked for during a run that lasts longer than two minutes', async () => {
    const { server, store, clock, dialer } = await setUp({ maxConcurrentCallsPerUser: 1 }, [
      lead(1),
      lead(2),
    ]);
    const first = await dialer.trigger(principal);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // lead-002 waits for lead-001's call to end: the run lasts as long as the call.
    expect((await dialer.trigger(principal)).outcome).toBe('follow_up_scheduled');
    await store.addLeads([lead(3)]);
    for (let second = 0; second < 180; second += 1) await clock.advance(1_000);
    // The calls end one after the other; the follow-up dials lead-003 after lead-002's.
    for (const leadId of ['lead-001', 'lead-002']) {
      let placed = await store.getLead(tenantId, leadId);
      while (placed?.callId === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        placed = await store.getLead(tenantId, leadId);
      }
      const ended = callEvent('call.ended', placed.callId, { status: 'completed' });
      expect(await dialer.handleCallEvent(ended)).toBe('updated');
    }
    if (first.outcome !== 'started') throw new Error('no run started');
    const summaries = await first.finished;
    expect(summaries.map((summary) => [summary.cause, summary.placed])).toEqual([
      ['trigger', 2],
      ['follow_up', 1],
    ]);
    expect(server.calls.map((call) => call.to)).toEqual([number(1), number(2), number(3)]);
  });

  it('keeps a follow-up asked for during a run that lasts longer than a day: the request is renewed with the run lease', async () => {
    let releaseDial: () => void = () => {};
    const dialHeld = new Promise<void>((resolve) => {
      releaseDial = resolve;
    });
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        dialled.push(request.to);
        await dialHeld;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    stoppers.push(async () => releaseDial());
    const { clock, store, dialer } = await setUp(
      { accounts: [{ id: 'test', control, callsPerSecond: 1000 }], runLeaseMs: 3_600_000 },
      [lead(1)],
    );
    const first = await dialer.trigger(principal);
    while (dialled.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect((await dialer.trigger(principal)).outcome).toBe('follow_up_scheduled');
    await store.addLeads([lead(2)]);
    // The run waits 25 hours for its dial; its lease is renewed every 20 minutes meanwhile.
    for (let minutes = 0; minutes < 25 * 60; minutes += 10) await clock.advance(600_000);
    releaseDial();
    if (first.outcome !== 'started') throw new Error('no run started');
    const summaries = await first.finished;
    // The run kept its lease throughout: the follow-up ran because it was still asked for.
    expect(summaries.map((summary) => [summary.cause, summary.placed, summary.stoppedBy])).toEqual([
      ['trigger', 1, undefined],
      ['follow_up', 1, undefined],
    ]);
    expect(dialled).toEqual([number(1), number(2)]);
  });

  it('keeps renewing the run lease when renewing a follow-up request throws (your own DialerLocks), so no second run starts beside it', async () => {
    let releaseDial: () => void = () => {};
    const dialHeld = new Promise<void>((resolve) => {
      releaseDial = resolve;
    });
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        dialled.push(request.to);
        await dialHeld;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    stoppers.push(async () => releaseDial());
    const clock = createTestClock(start);
    // Locks of your own whose renewFollowUp throws at once (or that were written before it).
    const locks: DialerLocks = {
      ...createMemoryDialerLocks({ clock }),
      renewFollowUp: () => {
        throw new Error('renewFollowUp is not implemented');
      },
    };
    const { store, dialer, warnings } = await setUp(
      { accounts: [{ id: 'test', control, callsPerSecond: 1000 }], clock, locks },
      [lead(1)],
    );
    const first = await dialer.trigger(principal);
    while (dialled.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    // Ten run leases (30 s each, renewed every 10 s) pass while the call is held.
    for (let seconds = 0; seconds < 300; seconds += 5) await clock.advance(5_000);
    await store.addLeads([lead(2)]);
    expect((await dialer.trigger(principal)).outcome).toBe('follow_up_scheduled');
    releaseDial();
    if (first.outcome !== 'started') throw new Error('no run started');
    const summaries = await first.finished;
    expect(summaries.map((summary) => [summary.cause, summary.placed, summary.stoppedBy])).toEqual([
      ['trigger', 1, undefined],
      ['follow_up', 1, undefined],
    ]);
    expect(dialled).toEqual([number(1), number(2)]);
    expect(warnings).toContain(
      'Renewing a follow-up request failed; it is kept for a day from the last renewal (logged once until a renewal works again).',
    );
  });

  it('warns once, not at every lease renewal, when your DialerLocks has no renewFollowUp or it keeps failing', async () => {
    let releaseDials: () => void = () => {};
    const dialsHeld = new Promise<void>((resolve) => {
      releaseDials = resolve;
    });
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        dialled.push(request.to);
        await dialsHeld;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    stoppers.push(async () => releaseDials());
    const clock = createTestClock(start);
    const memoryLocks = createMemoryDialerLocks({ clock });
    let failing = true;
    // Locks whose renewFollowUp fails for a while (their Redis is away), works, then fails again;
    // and the same locks as written before renewFollowUp existed.
    const locks: DialerLocks = {
      acquire: (key, ttlMs) => memoryLocks.acquire(key, ttlMs),
      requestFollowUp: (key, ttlMs) => memoryLocks.requestFollowUp(key, ttlMs),
      takeFollowUp: (key) => memoryLocks.takeFollowUp(key),
      renewFollowUp: async (key, ttlMs) => {
        if (failing) throw new Error('connection is closed');
        await memoryLocks.renewFollowUp(key, ttlMs);
      },
    };
    const withoutMethod = { ...locks } as Partial<DialerLocks>;
    delete withoutMethod.renewFollowUp;
    const warned: { message: string; context: Record<string, unknown> | undefined }[] = [];
    const logger = {
      warn: (message: string, context?: Record<string, unknown>) =>
        warned.push({ message, context }),
    };
    const { dialer } = await setUp(
      { accounts: [{ id: 'test', control, callsPerSecond: 1000 }], clock, locks, logger },
      [lead(2, { userId: 'user-2' })],
    );
    // A second dialer on the locks without the method.
    const { dialer: older } = await setUp(
      {
        accounts: [{ id: 'test', control, callsPerSecond: 1000 }],
        clock,
        locks: withoutMethod as DialerLocks,
        logger,
      },
      [lead(3, { userId: 'user-3' })],
    );
    const runs = [
      await dialer.trigger({ tenantId, userId: 'user-2' }),
      await older.trigger({ tenantId, userId: 'user-3' }),
    ];
    while (dialled.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    // 30 renewals of each run lease (every 10 s) while the calls are held.
    for (let seconds = 0; seconds < 300; seconds += 5) await clock.advance(5_000);
    failing = false;
    for (let seconds = 0; seconds < 30; seconds += 5) await clock.advance(5_000);
    failing = true;
    for (let seconds = 0; seconds < 300; seconds += 5) await clock.advance(5_000);
    releaseDials();
    for (const run of runs) if (run.outcome === 'started') await run.finished;
    const messages = warned.map(({ message, context }) => [message, context?.userId]);
    expect(messages).toEqual([
      [
        'Your DialerLocks has no renewFollowUp: a follow-up request asked for during a run is kept for a day from the request, not for the whole run.',
        undefined,
      ],
      [
        'Renewing a follow-up request failed; it is kept for a day from the last renewal (logged once until a renewal works again).',
        'user-2',
      ],
      [
        'Renewing a follow-up request failed; it is kept for a day from the last renewal (logged once until a renewal works again).',
        'user-2',
      ],
    ]);
  });

  it('keeps tenants apart in its locks: ids with colons share neither a run nor a lead lease', async () => {
    let releaseDials: () => void = () => {};
    const dialsHeld = new Promise<void>((resolve) => {
      releaseDials = resolve;
    });
    const dialled: string[] = [];
    const control: CallControl = {
      provider: 'test',
      async placeCall(request) {
        dialled.push(request.to);
        await dialsHeld;
        return { provider: 'test', callId: `call-${request.to}`, reference: request.reference };
      },
      async terminateCall() {},
    };
    stoppers.push(async () => releaseDials());
    // Joined with colons, both users' run lock would be `run:org:1:u` and both leads' lease
    // `lead:org:1:x`.
    const { dialer } = await setUp({ accounts: [{ id: 'test', control, callsPerSecond: 1000 }] }, [
      lead(1, { tenantId: 'org:1', userId: 'u', leadId: 'x' }),
      lead(2, { tenantId: 'org', userId: '1:u', leadId: '1:x' }),
    ]);
    const results = [
      await dialer.trigger({ tenantId: 'org:1', userId: 'u' }),
      await dialer.trigger({ tenantId: 'org', userId: '1:u' }),
    ];
    expect(results.map((result) => result.outcome)).toEqual(['started', 'started']);
    // Both runs reach their lead's lease while the first dial is held.
    while (dialled.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    releaseDials();
    const summaries = [];
    for (const result of results) {
      if (result.outcome === 'started') summaries.push(...(await result.finished));
    }
    expect(summaries.map((summary) => [summary.tenantId, summary.placed])).toEqual([
      ['org:1', 1],
      ['org', 1],
    ]);
    expect(dialled.sort()).toEqual([number(1), number(2)]);
  });

  it('keeps calls in flight per user under the cap: the next lead waits for the call to end', async () => {
    const { server, bus, dialer, store } = await setUp({ maxConcurrentCallsPerUser: 1 }, [
      lead(1),
      lead(2),
    ]);
    dialer.start();
    const result = await dialer.trigger(principal);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.calls).toHaveLength(1);
    // The tracker's events for the call arrive on the bus.
    const sid = server.calls[0]!.sid;
    await bus.publish(callEvent('call.ringing', sid, { status: 'ringing' }));
    await bus.publish(callEvent('call.ended', sid, { status: 'completed' }));
    while (server.calls.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    if (result.outcome === 'started') await result.finished;
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'completed',
      callOutcome: 'completed',
    });
    expect(await store.getLead(tenantId, 'lead-002')).toMatchObject({ callStatus: 'placed' });
  });

  it('settles a call whose end was published while no dialer followed the bus: the reconciler asks lookupCall (here the tracker)', async () => {
    const clock = createTestClock(start);
    const bus = createMemoryBus();
    const store = createMemoryLeadStore();
    await store.addLeads([lead(1), lead(2, { userId: 'user-2' })]);
    const tracker = createCallTracker({ bus, clock });
    const control: CallControl = {
      provider: 'twilio',
      placeCall: async (request) => ({
        provider: 'twilio',
        callId: `CA-${request.to.slice(-1)}`,
        reference: request.reference,
      }),
      terminateCall: async () => {},
    };
    const options: DialerOptions = {
      store,
      bus,
      accounts: [{ id: 'twilio-main', control }],
      clock,
      logger: {},
      reconcileIntervalMs: 86_400_000, // reconciled by the test only
    };
    // Dialer A places both calls, then stops (a deploy).
    const a = createDialer(options);
    await a.start();
    for (const userId of ['user-1', 'user-2']) {
      const run = await a.trigger({ tenantId, userId });
      if (run.outcome === 'started') await run.finished;
    }
    await a.stop();
    // Meanwhile the tracker publishes CA-1's end and CA-2's ringing: no dialer follows the bus.
    await tracker.ingest(callEvent('call.ended', 'CA-1', { status: 'completed' }));
    await tracker.ingest(callEvent('call.ringing', 'CA-2', { status: 'ringing' }));
    const asked: string[] = [];
    const b = createDialer({
      ...options,
      lookupCall: async (attempt) => {
        asked.push(attempt.callId ?? '');
        const call = attempt.callId && (await tracker.getCall(attempt.tenantId, attempt.callId));
        return call ? { placed: true, ...(call.status ? { status: call.status } : {}) } : undefined;
      },
    });
    stoppers.push(() => b.stop());
    await b.start();
    expect(await b.reconcile()).toEqual({ orphaned: 0, settled: 0 }); // not yet 15 min
    await clock.advance(20 * 60_000);
    expect(await b.reconcile()).toEqual({ orphaned: 0, settled: 1 });
    expect(await store.getLead(tenantId, 'lead-001')).toMatchObject({
      callStatus: 'completed',
      callOutcome: 'completed',
    });
    expect(await store.countLiveAttempts({ tenantId, userId: 'user-1', since: 0 })).toBe(0);
    // The ringing call stays placed, and is asked about again only 15 min later.
    expect(await store.getLead(tenantId, 'lead-002')).toMatchObject({ callStatus: 'placed' });
    expect(await b.reconcile()).toEqual({ orphaned: 0, settled: 0 });
    expect(asked.sort()).toEqual(['CA-1', 'CA-2']);
    await clock.advance(15 * 60_000);
    await b.reconcile();
    expect(asked.sort()).toEqual(['CA-1', 'CA-2', 'CA-2']);
  });

  it('asks lookupCall about up to 8 calls at once, so a provider that hangs does not hold a pass for one timeout per call', async () => {
    const clock = createTestClock(start);
    const store = await storeWithCallsOut(20, 10);
    // The provider answers only when the test lets it: lookups pile up as a hanging one's would.
    let inFlight = 0;
    let most = 0;
    const waiting: (() => void)[] = [];
    const dialer = createDialer({
      store,
      bus: createMemoryBus(),
      accounts: [
        {
          id: 'twilio-main',
          control: createTestCallControl({
            baseUrl: 'http://127.0.0.1:9',
            accountSid: 'AC0',
            authToken: 't',
          }),
        },
      ],
      clock,
      logger: {},
      lookupCall: async () => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise<void>((resolve) => waiting.push(resolve));
        inFlight -= 1;
        return { placed: true, status: 'completed' };
      },
    });
    await clock.advance(20 * 60_000);
    const pass = dialer.reconcile();
    // The ten unknown attempts first (expired leases), then the ten placed ones.
    for (let answered = 0; answered < 20; answered += 1) {
      while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
      expect(inFlight).toBeLessThanOrEqual(8);
      waiting.shift()!();
    }
    expect(await pass).toEqual({ orphaned: 0, settled: 20 });
    expect(most).toBe(8);
  });

  it('asks lookupCall about every placed call in turn: ones it cannot tell about (in progress, no answer, a throw) wait behind the rest', async () => {
    const clock = createTestClock(start);
    const store = await storeWithCallsOut(150);
    const asked: string[] = [];
    const dialer = createDialer({
      store,
      bus: createMemoryBus(),
      accounts: [
        {
          id: 'twilio-main',
          control: createTestCallControl({
            baseUrl: 'http://127.0.0.1:9',
            accountSid: 'AC0',
            authToken: 't',
          }),
        },
      ],
      clock,
      logger: {},
      lookupCall: async (attempt) => {
        asked.push(attempt.callId ?? '');
        const index = Number(attempt.callId?.slice(3));
        if (index % 3 === 0) throw new Error('the provider is away');
        return index % 3 === 1 ? { placed: true, status: 'in-progress' } : undefined;
      },
    });
    await clock.advance(20 * 60_000);
    expect(await dialer.reconcile()).toEqual({ orphaned: 0, settled: 0 });
    expect(asked).toHaveLength(100);
    await clock.advance(30_000);
    await dialer.reconcile();
    // The 50 not read yet come next; the 100 asked wait 15 min.
    expect(new Set(asked).size).toBe(150);
    await clock.advance(30_000);
    await dialer.reconcile();
    expect(asked).toHaveLength(150);
    await clock.advance(15 * 60_000);
    await dialer.reconcile();
    await clock.advance(30_000);
    await dialer.reconcile();
    expect(asked.slice(150).sort()).toEqual(asked.slice(0, 150).sort());
  });

  it('runs the gates again after the pacing wait: a number listed or a window closed meanwhile is skipped, not dialled', async () => {
    // One call per 10 s: lead-002 waits for the next pacing window while lead-001's call is live.
    const dialAfterPacingWait = async (
      at: number,
      whileWaiting: (list: DoNotCallList) => Promise<void>,
    ) => {
      const clock = createTestClock(at);
      const doNotCall = createMemoryDoNotCallList();
      const dialled: string[] = [];
      const control: CallControl = {
        provider: 'test',
        async placeCall(request) {
          dialled.push(request.to);
          return {
            provider: 'test',
            callId: `call-${dialled.length}`,
            reference: request.reference,
          };
        },
        async terminateCall() {},
      };
      const { events, dialer } = await setUp(
        {
          clock,
          pacer: createMemoryCallPacer({ clock }),
          accounts: [{ id: 'paced', control, callsPerSecond: 0.1 }],
          maxConcurrentCallsPerUser: 2,
          doNotCall,
        },
        [lead(1), lead(2)],
      );
      const result = await dialer.trigger(principal);
      // Two sleepers: the run lease's renewal and lead-002's wait for the next pacing window.
      await vi.waitFor(() => expect(clock.sleepers).toBe(2));
      await whileWaiting(doNotCall);
      await clock.advance(10_000);
      if (result.outcome === 'started') await result.finished;
      const skipped = events.filter((event) => event.type === 'dialer.lead_skipped');
      return { dialled, skipped: skipped.map((event) => [event.data.leadId, event.data.reason]) };
    };

    const listed = await dialAfterPacingWait(start, (list) => list.add(tenantId, [number(2)]));
    expect(listed).toEqual({ dialled: [number(1)], skipped: [['lead-002', 'do_not_call']] });
    // 20:59:55 in New York: lead-001 is dialled at once, lead-002's slot comes at 21:00:00.
    const closing = await dialAfterPacingWait(
      Date.parse('2026-03-03T01:59:55.000Z'),
      async () => {},
    );
    expect(closing).toEqual({
      dialled: [number(1)],
      skipped: [['lead-002', 'outside_calling_window']],
    });
  });

  it("follows one user's updates: the dialer's events and the calls it placed, nobody else's", async () => {
    const { server, bus, dialer, store } = await setUp({}, [
      lead(1),
      lead(2, { userId: 'user-2' }),
    ]);
    dialer.start();
    const controller = new AbortController();
    const updates: string[] = [];
    const following = (async () => {
      for await (const update of dialer.followUser({
        tenantId,
        userId: 'user-1',
        signal: controller.signal,
      })) {
        updates.push(`${update.type}:${update.leadId ?? ''}`);
        if (update.type === 'call_completed') controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runToEnd(dialer);
    await runToEnd(dialer, { tenantId, userId: 'user-2' });
    for (const call of server.calls) {
      await bus.publish(callEvent('call.answered', call.sid, { status: 'in-progress' }));
    }
    await bus.publish(callEvent('call.answered', 'CA-unrelated', { status: 'in-progress' }));
    for (const call of server.calls) {
      await bus.publish(callEvent('call.ended', call.sid, { status: 'completed' }));
    }
    await following;
    expect(updates).toEqual([
      'run_started:',
      'call_placed:lead-001',
      'run_finished:',
      'call_status:lead-001',
      'call_completed:lead-001',
    ]);
    // The dialer's own follower ended user-2's call as well.
    while ((await store.getLead(tenantId, 'lead-002'))?.callStatus !== 'completed') {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });

  it('begins no run after stop() resolved: a trigger still taking its run lease waits for stop, and is refused (503)', async () => {
    const memory = createMemoryDialerLocks();
    // The run lease is slow to come (a Redis round trip under load): stop() comes meanwhile.
    let letAcquire: () => void = () => {};
    const acquiring = new Promise<void>((resolve) => {
      letAcquire = resolve;
    });
    const asked: string[] = [];
    const locks: DialerLocks = {
      ...memory,
      acquire: async (key, ttl) => {
        if (key.startsWith('["run"')) {
          asked.push(key);
          await acquiring;
        }
        return memory.acquire(key, ttl);
      },
    };
    const { server, events, dialer } = await setUp({ locks }, [lead(1)]);
    const triggered = dialer.trigger(principal);
    triggered.catch(() => {});
    while (asked.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    let stopped = false;
    const stopping = dialer.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // stop() waits for the trigger in flight, which then starts nothing.
    expect(stopped).toBe(false);
    letAcquire();
    await stopping;
    await expect(triggered).rejects.toMatchObject({ code: 'dialer_stopped', status: 503 });
    const outcome = await triggered.catch(() => undefined);
    if (outcome?.outcome === 'started') await outcome.finished;
    expect(events.map((event) => event.type)).toEqual([]);
    expect(server.calls).toHaveLength(0);
    // The lease it took is given back, not left to expire.
    expect(await memory.acquire('["run","acme","user-1"]', 1_000)).toBeDefined();
  });

  it('stops claiming when the run lease cannot be renewed', async () => {
    const memory = createMemoryDialerLocks();
    let renewals = 0;
    const locks: DialerLocks = {
      ...memory,
      acquire: async (key, ttl) => {
        const lease = await memory.acquire(key, ttl);
        return (
          lease && {
            ...lease,
            key: lease.key,
            token: lease.token,
            renew: async () => {
              renewals += 1;
              return false;
            },
          }
        );
      },
    };
    const { server, clock, dialer, warnings } = await setUp(
      { locks, runLeaseMs: 3_000, maxConcurrentCallsPerUser: 1 },
      [lead(1), lead(2)],
    );
    const result = await dialer.trigger(principal);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await clock.advance(1_000); // the renewal fails: the run stops before lead-002
    if (result.outcome !== 'started') throw new Error('no run started');
    const [summary] = await result.finished;
    expect(renewals).toBe(1);
    expect(summary).toMatchObject({ placed: 1, stoppedBy: 'lease_lost' });
    expect(server.calls).toHaveLength(1);
    expect(warnings.filter((message) => /run lease/.test(message))).toEqual([
      'The run lease was lost; the run stopped claiming.',
    ]);
  });

  it('logs a run lease renewal that threw once, with its error, and stops claiming', async () => {
    const memory = createMemoryDialerLocks();
    const refused = new Error('renew refused: connection reset');
    let renewals = 0;
    const locks: DialerLocks = {
      ...memory,
      acquire: async (key, ttl) => {
        const lease = await memory.acquire(key, ttl);
        return (
          lease && {
            ...lease,
            renew: async () => {
              renewals += 1;
              throw refused;
            },
          }
        );
      },
    };
    const warned: { message: string; context: Record<string, unknown> | undefined }[] = [];
    const { server, clock, dialer } = await setUp(
      {
        locks,
        runLeaseMs: 3_000,
        maxConcurrentCallsPerUser: 1,
        logger: { warn: (message, context) => warned.push({ message, context }) },
      },
      [lead(1), lead(2)],
    );
    const result = await dialer.trigger(principal);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await clock.advance(1_000); // the renewal throws: the run stops before lead-002
    if (result.outcome !== 'started') throw new Error('no run started');
    const [summary] = await result.finished;
    expect(renewals).toBe(1);
    expect(summary).toMatchObject({ placed: 1, stoppedBy: 'lease_lost' });
    expect(server.calls).toHaveLength(1);
    const leaseWarnings = warned.filter(({ message }) => /run lease/.test(message));
    expect(leaseWarnings).toEqual([
      {
        message: 'Renewing the run lease failed; the run stopped claiming.',
        context: { tenantId, userId: 'user-1', error: refused },
      },
    ]);
  });

  it('refuses bad input with a clear error', async () => {
    const { dialer } = await setUp();
    await expect(dialer.trigger({ tenantId } as never)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(dialer.trigger({ tenantId: '', userId: 'u' })).rejects.toMatchObject({
      status: 400,
    });
    const store = createMemoryLeadStore();
    const bus = createMemoryBus();
    expect(() => createDialer({ store, bus, accounts: [] })).toThrow(/accounts/);
    expect(() =>
      createDialer({ store, bus, accounts: [{ id: 'a', control: {} as never }] }),
    ).toThrow(/CallControl/);
    expect(() =>
      createDialer({
        store,
        bus,
        accounts: [
          { id: 'a', control: { placeCall: async () => ({}) } as never, callsPerSecond: 0 },
        ],
      }),
    ).toThrow(/callsPerSecond/);
    expect(() =>
      createDialer({
        store,
        bus,
        accounts: [{ id: 'a', control: { placeCall: async () => ({}) } as never }],
        callingWindow: { hours: { start: '21:00', end: '09:00' } },
      }),
    ).toThrow(/end must be after start/);
    // A setting that is no number (NaN from an unset environment variable) turned its rule off
    // quietly: NaN capped no attempts, held no gap between them, kept no lease.
    const wrongNumbers: Partial<DialerOptions>[] = [
      { maxAttempts: Number.NaN },
      { maxAttempts: 0 },
      { maxAttempts: 2.5 },
      { minAttemptGapMs: Number.NaN },
      { minAttemptGapMs: -1 },
      { maxConcurrentCallsPerUser: 0 },
      { maxConcurrentCallsPerUser: Number.NaN },
      { runLeaseMs: Number.NaN },
      { attemptLeaseMs: 0 },
      { placeCallTimeoutMs: Number.POSITIVE_INFINITY },
      { hookTimeoutMs: Number.NaN },
      { pageSize: 0 },
      { reconcileIntervalMs: '30000' as never },
      // Timer delays past 2^31 - 1 ms: Node would fire them after 1 ms (a reconciler that spins,
      // hooks timed out at once).
      { reconcileIntervalMs: 2 ** 31 },
      { hookTimeoutMs: 30 * 24 * 3_600_000 },
      { placeCallTimeoutMs: 2 ** 31 },
    ];
    for (const wrong of wrongNumbers) {
      expect(
        () =>
          createDialer({
            store,
            bus,
            accounts: [{ id: 'a', control: { placeCall: async () => ({}) } as never }],
            ...wrong,
          }),
        JSON.stringify(wrong),
      ).toThrow(new RegExp(Object.keys(wrong)[0]!));
    }
    // A zone that does not exist would skip every lead without one, run after run, as
    // invalid_time_zone: said when the dialer is made instead.
    for (const defaultTimeZone of ['America/NewYork', 'EST5EDT/Nowhere', 42 as never]) {
      expect(
        () =>
          createDialer({
            store,
            bus,
            accounts: [{ id: 'a', control: { placeCall: async () => ({}) } as never }],
            defaultTimeZone,
          }),
        defaultTimeZone,
      ).toThrow(/defaultTimeZone/);
    }
    expect(
      await dialer.handleCallEvent(callEvent('call.ended', 'CA-nobody', { status: 'busy' })),
    ).toBe('unlinked');
    // An event a bus would refuse is refused here too, with the bus's error.
    await expect(
      dialer.handleCallEvent(
        callEvent('call.ended', 'CA-\u0000', { id: 'call.ended:CA-nul', status: 'busy' }),
      ),
    ).rejects.toMatchObject({ code: 'invalid_event', status: 400, field: 'callId' });
    await expect(dialer.handleCallEvent({} as never)).rejects.toMatchObject({
      code: 'invalid_event',
      status: 400,
    });
    await bus.close();
  });
});

function callEvent(type: string, callId: string, extra: Partial<CallEvent> = {}): CallEvent {
  return {
    id: `${type}:${callId}:${Math.random()}`,
    type,
    tenantId,
    provider: 'twilio',
    callId,
    occurredAt: new Date(start).toISOString(),
    receivedAt: new Date(start).toISOString(),
    data: {},
    ...extra,
  };
}

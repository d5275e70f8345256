import { createServer } from 'node:http';
import { InvalidArgumentError } from '@calltrack/core';
import { clockFrom, serveForTest, stopTestServers } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from './__tests__/deferred';
import {
  type InterceptedAnswer,
  type ReceivedRequest,
  startWebhookApp,
  type WebhookApp,
} from './__tests__/start-webhook-app';
import { createSimulator } from './create-simulator';
import { demoLines } from './demo-lines';
import type { SimulatedCall } from './simulated-call';
import { type SimulatedOutcome, simulatedOutcomes } from './simulated-outcome';
import type { SimulatorDelivery } from './simulator-delivery';
import { type SimulatorProvider, simulatorProviders } from './simulator-provider';

afterEach(stopTestServers);

/** What the tracker published for one call. */
function eventsOf(app: WebhookApp, call: SimulatedCall) {
  return app.bus.events.filter((event) => event.callId === call.callId);
}

async function expectTrackedEnd(app: WebhookApp, call: SimulatedCall) {
  const ended = eventsOf(app, call).filter((event) => event.type === 'call.ended');
  expect(ended).toHaveLength(1);
  expect(ended[0]!.status).toBe(call.status);
  const tracked = await app.tracker.getCall(call.line.tenantId, call.callId);
  expect(tracked).toMatchObject({
    status: call.status,
    active: false,
    branchId: call.line.branchId,
  });
  return tracked!;
}

describe('every outcome of every provider, through the real handlers and tracker', () => {
  for (const provider of simulatorProviders) {
    for (const outcome of simulatedOutcomes) {
      it(`${provider} ${outcome}`, async () => {
        const app = await startWebhookApp();
        const deliveries: SimulatorDelivery[] = [];
        const simulator = createSimulator({
          target: app.url,
          speed: Number.POSITIVE_INFINITY,
          seed: 1000 + simulatedOutcomes.indexOf(outcome),
          onDelivery: (delivery) => deliveries.push(delivery),
        });
        const call = await simulator.runCall({ provider, outcome });

        expect(call.ok).toBe(true);
        expect(call.deliveries.length).toBe(call.webhooks.length);
        expect(call.deliveries.every((delivery) => delivery.status === 200)).toBe(true);
        expect(deliveries).toEqual(call.deliveries);
        expect(call.deliveries.map((delivery) => delivery.kind)).toEqual(
          call.webhooks.map((webhook) => webhook.kind),
        );
        const tracked = await expectTrackedEnd(app, call);
        expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });

        // Durations: what the provider reported, plausible for the outcome.
        expect(tracked.durationMs).toBe(call.talkDurationMs);
        if (outcome === 'completed') {
          expect(call.talkDurationMs).toBeGreaterThanOrEqual(5_000);
          expect(call.talkDurationMs).toBeLessThanOrEqual(20 * 60_000);
        } else if (outcome === 'voicemail') {
          expect(call.talkDurationMs).toBeGreaterThanOrEqual(5_000);
          expect(call.talkDurationMs).toBeLessThanOrEqual(90_000);
        } else if (
          !(provider === 'retell' && outcome === 'failed' && call.direction === 'inbound')
        ) {
          expect(call.talkDurationMs).toBe(0);
        }
        expect(call.endedAt).toBeGreaterThan(call.startedAt);

        // Voicemail as each provider reports it.
        if (outcome === 'voicemail') {
          expect(call.status).toBe('completed');
          if (provider === 'twilio') {
            expect(tracked.answeredBy).toMatch(/^machine_/);
            expect(eventsOf(app, call).some((e) => e.type === 'call.machine_detection')).toBe(true);
          }
          if (provider === 'retell') {
            expect(tracked.disconnectionReason).toBe('voicemail_reached');
            expect(tracked.analysis).toMatchObject({ inVoicemail: true });
          }
          if (provider === 'callerdesk') expect(call.providerStatus).toBe('ANSWER');
        } else {
          expect(call.status).toBe(outcome);
        }
        if (provider === 'twilio' && outcome === 'completed' && call.direction === 'inbound') {
          expect(tracked.answeredBy).toBeUndefined();
        }
      });
    }
  }
});

describe('duplicates and out-of-order deliveries', () => {
  it('delivers every webhook twice with duplicateRate 1; the handlers answer the second as duplicates', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 7,
      duplicateRate: 1,
    });
    for (const provider of simulatorProviders) {
      for (const outcome of ['completed', 'no-answer'] as const) {
        const call = await simulator.runCall({ provider, outcome });
        expect(call.ok).toBe(true);
        expect(call.duplicates).toBe(call.webhooks.length);
        expect(call.deliveries).toHaveLength(2 * call.webhooks.length);
        for (const delivery of call.deliveries.filter((d) => d.duplicate)) {
          const response = delivery.response as { published: number; duplicates: number };
          expect(response.published).toBe(0);
          expect(response.duplicates).toBeGreaterThan(0);
        }
        await expectTrackedEnd(app, call);
      }
    }
    const ids = app.bus.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(simulator.stats.duplicateDeliveries).toBe(app.received.length / 2);
    expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });
  });

  it('sends a mix of duplicates when duplicateRate is a share', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 99,
      duplicateRate: 0.3,
    });
    const calls: SimulatedCall[] = [];
    for (let index = 0; index < 12; index += 1) calls.push(await simulator.runCall());
    const { deliveries, duplicateDeliveries } = simulator.stats;
    expect(duplicateDeliveries).toBeGreaterThan(0);
    expect(duplicateDeliveries).toBeLessThan(deliveries / 2);
    for (const call of calls) await expectTrackedEnd(app, call);
  });

  for (const provider of simulatorProviders) {
    it(`${provider}: reordered deliveries still end every call in the right state`, async () => {
      const app = await startWebhookApp();
      const simulator = createSimulator({
        target: app.url,
        speed: Number.POSITIVE_INFINITY,
        seed: 31,
        reorderRate: 1,
      });
      let reordered = 0;
      for (const outcome of simulatedOutcomes) {
        for (let repeat = 0; repeat < 3; repeat += 1) {
          const call = await simulator.runCall({ provider, outcome });
          expect(call.ok).toBe(true);
          await expectTrackedEnd(app, call);
          if (call.webhooks.length < 2) {
            expect(call.reordered).toBe(false);
            continue;
          }
          reordered += 1;
          expect(call.reordered).toBe(true);
          const sent = call.deliveries.map((delivery) => delivery.index);
          expect(sent).not.toEqual([...sent].sort((left, right) => left - right));
          expect(call.deliveries.filter((delivery) => delivery.reordered)).toHaveLength(1);
        }
      }
      expect(reordered).toBeGreaterThan(0);
      expect(simulator.stats.reorderedCalls).toBe(reordered);
      expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });
    });
  }

  it('arrives at the server in the order the deliveries report', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 5,
    });
    const call = await simulator.runCall({
      provider: 'twilio',
      outcome: 'completed',
      reorder: true,
    });
    const statuses = app.received.map((request) =>
      new URLSearchParams(request.body).get('CallStatus'),
    );
    const reported = call.deliveries.map((delivery) =>
      delivery.kind.startsWith('status:') ? delivery.kind.slice('status:'.length) : null,
    );
    expect(statuses).toEqual(reported);
  });
});

/** What calltrack's handlers answer while the bus's Redis restarts: a 503 so the provider retries. */
const busUnavailable: InterceptedAnswer = {
  status: 503,
  body: { error: { code: 'bus_unavailable', message: 'The event bus is unavailable.' } },
};

/**
 * Answers the first `failures` deliveries of each webhook (same method, URL and body) with
 * `answer`, and counts what it let through to the handlers per webhook.
 */
function failFirst(failures: number, answer: InterceptedAnswer = busUnavailable) {
  const attempts = new Map<string, number>();
  const passed = new Map<string, number>();
  const intercept = (request: ReceivedRequest): InterceptedAnswer => {
    const key = `${request.method} ${request.url} ${request.body}`;
    const seen = attempts.get(key) ?? 0;
    attempts.set(key, seen + 1);
    if (seen < failures) return answer;
    passed.set(key, (passed.get(key) ?? 0) + 1);
    return undefined;
  };
  return { intercept, passed };
}

/** Runs one call against an app failing as `outage` says, and the same call against a healthy app. */
async function runThroughOutage(
  provider: SimulatorProvider,
  outage: ReturnType<typeof failFirst>,
  options: Partial<Parameters<typeof createSimulator>[0]> = {},
) {
  const app = await startWebhookApp({ intercept: outage.intercept });
  const deliveries: SimulatorDelivery[] = [];
  // Both runs start their call at the same simulated time: a CallerDesk CallSid carries its start
  // second, so two runs either side of a second's end would send different calls.
  const startedAt = Date.now();
  const clock = { now: () => startedAt };
  const simulator = createSimulator({
    target: app.url,
    speed: Number.POSITIVE_INFINITY,
    seed: 40,
    clock,
    ...options,
    onDelivery: (delivery) => deliveries.push(delivery),
  });
  const call = await simulator.runCall({ provider, outcome: 'completed', seed: 41 });
  const healthy = await startWebhookApp();
  const reference = await createSimulator({
    target: healthy.url,
    speed: Number.POSITIVE_INFINITY,
    seed: 40,
    clock,
    retries: 0,
  }).runCall({ provider, outcome: 'completed', seed: 41 });
  expect(reference.ok).toBe(true);
  /**
   * Once the app recovered, its handlers took every webhook exactly once, answered it 2xx, and
   * published what a healthy app publishes (a late retry may find its event superseded: the
   * tracker drops an `initiated` that arrives after `ringing`), none twice.
   */
  const expectEachWebhookTakenOnce = () => {
    expect(call.ok).toBe(true);
    expect([...outage.passed.values()]).toEqual(call.webhooks.map(() => 1));
    for (let index = 0; index < call.webhooks.length; index += 1) {
      const taken = call.deliveries.filter((delivery) => delivery.index === index && delivery.ok);
      expect(taken).toHaveLength(1);
    }
    const ids = app.bus.events.map((event) => event.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    const healthyIds = new Set(healthy.bus.events.map((event) => event.id));
    expect(ids.filter((id) => !healthyIds.has(id))).toEqual([]);
  };
  return { app, simulator, call, deliveries, expectEachWebhookTakenOnce };
}

/** The signing time in a received Retell request's `x-retell-signature` (`v=<ms>,d=<hex>`). */
function retellSigningTime(request: ReceivedRequest): number {
  const header = String(request.headers['x-retell-signature']);
  const match = /^v=(\d+),d=[0-9a-f]+$/.exec(header);
  expect(match, header).not.toBeNull();
  return Number(match![1]);
}

/** How many deliveries each webhook (by script index) got, in script order. */
function attemptsPerWebhook(call: SimulatedCall): number[] {
  return call.webhooks.map(
    (_, index) => call.deliveries.filter((delivery) => delivery.index === index).length,
  );
}

describe('retries of deliveries the app did not take', () => {
  it('retell: retries a 503 up to 3 times, the same body signed again; the app gets each event once', async () => {
    const { app, simulator, call, deliveries, expectEachWebhookTakenOnce } = await runThroughOutage(
      'retell',
      failFirst(3),
    );
    expect(call.ok).toBe(true);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 4));
    expect(deliveries).toEqual(call.deliveries);
    for (let index = 0; index < call.webhooks.length; index += 1) {
      const attempts = call.deliveries.filter((delivery) => delivery.index === index);
      expect(
        attempts.map((delivery) => [delivery.retry, delivery.status, delivery.willRetry]),
      ).toEqual([
        [0, 503, true],
        [1, 503, true],
        [2, 503, true],
        [3, 200, false],
      ]);
      expect(attempts.every((delivery) => !delivery.duplicate)).toBe(true);
    }
    // A retry is the same body, signed again when it goes out (its timestamp is its own).
    const sent = app.received.filter((request) => request.url.startsWith('/webhooks/retell'));
    const first = sent[0]!;
    const again = sent.filter((request) => request.body === first.body);
    expect(again).toHaveLength(4);
    const signedAt = again.map((request) => retellSigningTime(request));
    expect(signedAt).toEqual([...signedAt].sort((left, right) => left - right));
    expect(simulator.stats).toMatchObject({
      deliveries: 4 * call.webhooks.length,
      failedDeliveries: 3 * call.webhooks.length,
      retries: 3 * call.webhooks.length,
      lostWebhooks: 0,
      duplicateDeliveries: 0,
    });
    expectEachWebhookTakenOnce();
    await expectTrackedEnd(app, call);
  });

  it("a run without Twilio takes one count above Twilio's limit, and refuses a Twilio call started in it", async () => {
    const { app, simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      'retell',
      failFirst(6),
      { providers: ['retell', 'callerdesk'], retries: 6 },
    );
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 7));
    expectEachWebhookTakenOnce();
    const received = app.received.length;
    await expect(simulator.runCall({ provider: 'twilio' })).rejects.toThrow(InvalidArgumentError);
    await expect(simulator.runCall({ provider: 'twilio' })).rejects.toThrow(
      /retries gives Twilio 6 retries, but Twilio's rc allows 0 to 5/,
    );
    expect(app.received).toHaveLength(received);
    expect(simulator.stats.byProvider.twilio).toBe(0);
  });

  it("retell: signs each retry at its own time, so a retry 6 minutes later passes the app's verifier", async () => {
    // The real time, moved on 6 minutes whenever the app fails a first attempt: the app's Retell
    // handler checks signatures within 5 minutes of the same clock. (Retell has no total
    // timeout: an attempt that took 6 minutes is still retried.)
    let offsetMs = 0;
    const wallClock = { now: () => Date.now() + offsetMs };
    const outage = failFirst(1);
    const app = await startWebhookApp({
      retellClock: wallClock,
      intercept: (request) => {
        const answer = outage.intercept(request);
        if (answer !== undefined) offsetMs += 6 * 60_000;
        return answer;
      },
    });
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 40,
      wallClock,
    });
    const call = await simulator.runCall({ provider: 'retell', outcome: 'completed', seed: 41 });

    // Each webhook: the failed attempt, then its retry, accepted (a 401 with a stale signature).
    for (let index = 0; index < call.webhooks.length; index += 1) {
      const attempts = call.deliveries.filter((delivery) => delivery.index === index);
      expect(attempts.map((delivery) => [delivery.retry, delivery.status])).toEqual([
        [0, 503],
        [1, 200],
      ]);
    }
    expect(call.ok).toBe(true);
    expect([...outage.passed.values()]).toEqual(call.webhooks.map(() => 1));
    for (const webhook of call.webhooks) {
      const [firstAttempt, retry] = app.received.filter(
        (request) => request.body === (webhook.payload as { body: string }).body,
      );
      expect(retellSigningTime(retry!) - retellSigningTime(firstAttempt!)).toBeGreaterThanOrEqual(
        6 * 60_000,
      );
    }
    expect(simulator.stats).toMatchObject({ retries: call.webhooks.length, lostWebhooks: 0 });
    await expectTrackedEnd(app, call);
  });

  it('retell: gives up after the third retry and counts the webhook as lost', async () => {
    const { app, simulator, call } = await runThroughOutage('retell', failFirst(4));
    expect(call.ok).toBe(false);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 4));
    expect(call.deliveries.every((delivery) => delivery.status === 503)).toBe(true);
    expect(call.deliveries.filter((delivery) => !delivery.willRetry)).toHaveLength(
      call.webhooks.length,
    );
    expect(simulator.stats).toMatchObject({
      retries: 3 * call.webhooks.length,
      lostWebhooks: call.webhooks.length,
    });
    expect(app.bus.events).toHaveLength(0);
  });

  it('retell: retries a 4xx too (Retell retries any non-2xx answer)', async () => {
    const refused: InterceptedAnswer = {
      status: 422,
      body: { error: { code: 'unknown_tenant', message: 'No tenant for this number.' } },
    };
    const { simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      'retell',
      failFirst(1, refused),
    );
    expect(call.ok).toBe(true);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 2));
    expect(call.deliveries.filter((delivery) => delivery.status === 422)).toHaveLength(
      call.webhooks.length,
    );
    expect(call.deliveries.some((delivery) => delivery.lost)).toBe(false);
    // Each refused attempt counts as a rejected delivery; no webhook was rejected in the end.
    expect(simulator.stats).toMatchObject({
      rejectedDeliveries: call.webhooks.length,
      rejectedWebhooks: 0,
      lostWebhooks: 0,
    });
    expectEachWebhookTakenOnce();
  });

  it('twilio: retries neither a 503 nor a 4xx by default (rp=ct,rt), only when told to', async () => {
    for (const answer of [busUnavailable, { status: 404, body: {} }]) {
      const { app, simulator, call } = await runThroughOutage('twilio', failFirst(1, answer));
      expect(call.ok).toBe(false);
      expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 1));
      expect(call.deliveries.every((delivery) => !delivery.willRetry)).toBe(true);
      expect(simulator.stats).toMatchObject({ retries: 0, lostWebhooks: call.webhooks.length });
      expect(app.bus.events).toHaveLength(0);
    }
    // A Twilio URL with #rp=ct,rt,5xx: the 503 is retried once (rc=1), and the app recovers.
    const { app, simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      'twilio',
      failFirst(1),
      {
        retries: { twilio: { on: ['connection', 'timeout', '5xx'] } },
      },
    );
    expect(call.ok).toBe(true);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 2));
    expect(simulator.stats).toMatchObject({ retries: call.webhooks.length, lostWebhooks: 0 });
    expectEachWebhookTakenOnce();
    await expectTrackedEnd(app, call);
  });

  it('twilio: retries a delivery that got no answer within timeoutMs once', async () => {
    const { simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      'twilio',
      failFirst(1, 'stall'),
      { timeoutMs: 500 },
    );
    expect(call.ok).toBe(true);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 2));
    for (const delivery of call.deliveries.filter((d) => d.retry === 0)) {
      expect(delivery).toMatchObject({
        status: 0,
        willRetry: true,
        error: 'no answer within 500 ms',
      });
    }
    expect(simulator.stats).toMatchObject({ retries: call.webhooks.length, lostWebhooks: 0 });
    expectEachWebhookTakenOnce();
  }, 30_000);

  describe("twilio's total timeout (tt): the attempts of a delivery get 15 s in all", () => {
    /**
     * An app that answers `answer` to the first attempt of each webhook after `tookMs` of the
     * simulator's wall clock (moved on, not waited), and lets the retries through.
     */
    async function runSlowFirstAttempts(
      tookMs: number,
      options: Partial<Parameters<typeof createSimulator>[0]> = {},
      retryAnswer: InterceptedAnswer = undefined,
    ) {
      let offsetMs = 0;
      const wallClock = { now: () => Date.now() + offsetMs };
      const seen = new Set<string>();
      const app = await startWebhookApp({
        intercept: (request) => {
          const key = `${request.method} ${request.url} ${request.body}`;
          if (seen.has(key)) return retryAnswer;
          seen.add(key);
          offsetMs += tookMs;
          return busUnavailable;
        },
      });
      const simulator = createSimulator({
        target: app.url,
        speed: Number.POSITIVE_INFINITY,
        seed: 40,
        wallClock,
        // A Twilio URL with #rp=ct,rt,5xx: the 503 is retried while the budget lasts.
        retries: { twilio: { on: ['connection', 'timeout', '5xx'] } },
        ...options,
      });
      const call = await simulator.runCall({ provider: 'twilio', outcome: 'completed', seed: 41 });
      return { app, simulator, call };
    }

    it('retries an attempt that took less than 15 s, not one that took 15 s', async () => {
      const quick = await runSlowFirstAttempts(14_000);
      expect(quick.call.ok).toBe(true);
      expect(attemptsPerWebhook(quick.call)).toEqual(quick.call.webhooks.map(() => 2));
      expect(quick.simulator.stats).toMatchObject({
        retries: quick.call.webhooks.length,
        lostWebhooks: 0,
      });

      const spent = await runSlowFirstAttempts(15_000);
      expect(spent.call.ok).toBe(false);
      expect(attemptsPerWebhook(spent.call)).toEqual(spent.call.webhooks.map(() => 1));
      expect(spent.call.deliveries.every((delivery) => !delivery.willRetry)).toBe(true);
      expect(spent.simulator.stats).toMatchObject({
        retries: 0,
        lostWebhooks: spent.call.webhooks.length,
      });
      expect(spent.app.bus.events).toHaveLength(0);
    });

    it('takes another budget from retries.twilio.totalTimeoutMs (a URL with #tt=5000)', async () => {
      const { call, simulator } = await runSlowFirstAttempts(5_000, {
        retries: { twilio: { on: ['connection', 'timeout', '5xx'], totalTimeoutMs: 5_000 } },
      });
      expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 1));
      expect(simulator.stats).toMatchObject({ retries: 0, lostWebhooks: call.webhooks.length });
    });

    it('gives a retry only what is left of the budget to answer in', async () => {
      // 14.9 s spent: the retry that gets no answer ends after the last 100 ms, not after
      // timeoutMs (15 s).
      const { call } = await runSlowFirstAttempts(14_900, {}, 'stall');
      const retries = call.deliveries.filter((delivery) => delivery.retry === 1);
      expect(retries).toHaveLength(call.webhooks.length);
      for (const retry of retries) {
        expect(retry).toMatchObject({ status: 0, willRetry: false });
        const [, waitedMs] = /^no answer within (\d+) ms$/.exec(retry.error ?? '') ?? [];
        expect(Number(waitedMs)).toBeGreaterThan(0);
        expect(Number(waitedMs)).toBeLessThanOrEqual(100);
      }
      expect(call.ok).toBe(false);
    });
  });

  it('callerdesk: retries nothing by default (none documented); a count retries 5xx and timeouts', async () => {
    const lost = await runThroughOutage('callerdesk', failFirst(1));
    expect(lost.call.ok).toBe(false);
    expect(attemptsPerWebhook(lost.call)).toEqual(lost.call.webhooks.map(() => 1));
    expect(lost.simulator.stats).toMatchObject({
      retries: 0,
      lostWebhooks: lost.call.webhooks.length,
    });

    const stalled = await runThroughOutage('callerdesk', failFirst(1, 'stall'), {
      timeoutMs: 100,
    });
    expect(attemptsPerWebhook(stalled.call)).toEqual(stalled.call.webhooks.map(() => 1));

    const { app, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      'callerdesk',
      failFirst(2),
      {
        retries: { callerdesk: 2 },
      },
    );
    expect(call.ok).toBe(true);
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 3));
    expectEachWebhookTakenOnce();
    await expectTrackedEnd(app, call);

    const refused = await runThroughOutage('callerdesk', failFirst(1, { status: 403, body: {} }), {
      retries: { callerdesk: 2 },
    });
    expect(attemptsPerWebhook(refused.call)).toEqual(refused.call.webhooks.map(() => 1));
  });

  it("retries: 0 turns every provider's retries off", async () => {
    for (const provider of simulatorProviders) {
      const { simulator, call } = await runThroughOutage(provider, failFirst(1, 'stall'), {
        retries: 0,
        timeoutMs: 100,
      });
      expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 1));
      expect(simulator.stats).toMatchObject({ retries: 0, lostWebhooks: call.webhooks.length });
    }
  });

  it("waits the provider's retry delay on the call's time scale", async () => {
    // Retell retries 10 to 12 s after an attempt: at speed 500, at least 20 ms later.
    const { call } = await runThroughOutage('retell', failFirst(1), { speed: 500 });
    expect(call.ok).toBe(true);
    for (const retry of call.deliveries.filter((delivery) => delivery.retry === 1)) {
      const first = call.deliveries.find(
        (delivery) => delivery.index === retry.index && delivery.retry === 0,
      )!;
      // sentAt has millisecond resolution; a timer may fire up to a millisecond early.
      expect(Date.parse(retry.sentAt) - Date.parse(first.sentAt)).toBeGreaterThanOrEqual(
        10_000 / 500 - 2,
      );
    }
  });

  it('keeps duplicates apart: a duplicate follows a delivery that succeeded, a retry one that failed', async () => {
    const { app, simulator, call } = await runThroughOutage('retell', failFirst(1), {
      duplicateRate: 1,
    });
    expect(call.ok).toBe(true);
    // Each webhook: a failed attempt, its retry, and the planned duplicate.
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 3));
    expect(simulator.stats).toMatchObject({
      retries: call.webhooks.length,
      duplicateDeliveries: call.webhooks.length,
      lostWebhooks: 0,
    });
    expect(call.deliveries.filter((d) => d.duplicate).every((d) => d.retry === 0 && d.ok)).toBe(
      true,
    );
    const ids = app.bus.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    await expectTrackedEnd(app, call);
  });
});

describe('duplicates the app failed after taking the original', () => {
  /** Lets the first delivery of each webhook through and answers `answer` to every later one. */
  function failAfterFirst(answer: InterceptedAnswer = busUnavailable) {
    const passed = new Map<string, number>();
    const intercept = (request: ReceivedRequest): InterceptedAnswer => {
      const key = `${request.method} ${request.url} ${request.body}`;
      if (passed.has(key)) return answer;
      passed.set(key, 1);
      return undefined;
    };
    return { intercept, passed };
  }

  it.each([
    // Twilio does not retry a 503; Retell retries the duplicate 3 times.
    ['twilio', 0],
    ['retell', 3],
  ] as const)('%s: loses no webhook and counts each duplicate once', async (provider, retries) => {
    const { simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
      provider,
      failAfterFirst(),
      { duplicateRate: 1 },
    );
    expectEachWebhookTakenOnce();
    expect(attemptsPerWebhook(call)).toEqual(call.webhooks.map(() => 2 + retries));
    expect(simulator.stats).toMatchObject({
      duplicateDeliveries: call.webhooks.length,
      retries: call.webhooks.length * retries,
      lostWebhooks: 0,
    });
  });

  it.each([
    ['twilio', 0],
    ['retell', 3],
  ] as const)(
    '%s: a duplicate refused (4xx) is a failed delivery, not a rejected webhook',
    async (provider, retries) => {
      const alreadyTaken: InterceptedAnswer = {
        status: 409,
        body: { error: { code: 'duplicate', message: 'Already processed.' } },
      };
      const { simulator, call, expectEachWebhookTakenOnce } = await runThroughOutage(
        provider,
        failAfterFirst(alreadyTaken),
        { duplicateRate: 1 },
      );
      expectEachWebhookTakenOnce();
      expect(call.ok).toBe(true);
      expect(call.deliveries.some((delivery) => delivery.lost)).toBe(false);
      const refused = call.webhooks.length * (1 + retries);
      expect(simulator.stats).toMatchObject({
        failedDeliveries: refused,
        rejectedDeliveries: refused,
        lostWebhooks: 0,
        rejectedWebhooks: 0,
      });
    },
  );
});

describe('running a stream of calls', () => {
  it('starts calls at the rate until maxCalls, then idles with every call tracked to its end', async () => {
    const app = await startWebhookApp();
    const ended: SimulatedCall[] = [];
    const started: string[] = [];
    const simulator = createSimulator({
      target: app.url,
      rate: 200,
      speed: Number.POSITIVE_INFINITY,
      maxCalls: 6,
      seed: 3,
      onCallStart: (script) => started.push(script.callId),
      onCallEnd: (call) => ended.push(call),
    });
    expect(simulator.running).toBe(false);
    simulator.start();
    expect(simulator.running).toBe(true);
    await simulator.idle();
    expect(simulator.running).toBe(false);
    const stats = simulator.stats;
    expect(stats).toMatchObject({
      started: 6,
      completed: 6,
      aborted: 0,
      active: 0,
      failedDeliveries: 0,
    });
    expect(stats.deliveries).toBe(app.received.length);
    expect(Object.values(stats.byProvider).reduce((sum, count) => sum + count, 0)).toBe(6);
    expect(stats.byHttpStatus).toEqual({ '200': stats.deliveries });
    expect(ended.map((call) => call.callId).sort()).toEqual([...started].sort());
    for (const call of ended) await expectTrackedEnd(app, call);
    expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });
    // Started again, it does not go past maxCalls.
    simulator.start();
    expect(simulator.running).toBe(false);
  });

  it('stop() lets running calls finish; stop({ abort: true }) cuts them short', async () => {
    const app = await startWebhookApp();
    const firstDelivery = deferred<void>();
    const graceful = createSimulator({
      target: app.url,
      rate: 0.001,
      speed: 400,
      seed: 11,
      outcomes: { completed: 1 },
      onDelivery: () => firstDelivery.resolve(),
    });
    graceful.start();
    await firstDelivery.promise;
    await graceful.stop();
    expect(graceful.stats).toMatchObject({ started: 1, completed: 1, aborted: 0, active: 0 });
    expect(await app.tracker.countActiveCalls('demo')).toEqual({ total: 0, byBranch: {} });

    const aborting = createSimulator({ target: app.url, rate: 0.001, speed: 1, seed: 12 });
    const delivered = deferred<void>();
    const ended = deferred<SimulatedCall>();
    const pending = createSimulator({
      target: app.url,
      speed: 1,
      seed: 13,
      onDelivery: () => delivered.resolve(),
      onCallEnd: (call) => ended.resolve(call),
    });
    const call = pending.runCall({ provider: 'twilio', outcome: 'completed' });
    await delivered.promise;
    const before = performance.now();
    await pending.stop({ abort: true });
    expect(performance.now() - before).toBeLessThan(5000);
    const result = await call;
    expect(result).toMatchObject({ aborted: true, ok: false });
    expect(result.deliveries.length).toBeLessThan(result.webhooks.length);
    expect(await ended.promise).toBe(result);
    expect(pending.stats).toMatchObject({ aborted: 1, completed: 0, active: 0 });
    // The call is still active in the tracker: its end was never sent.
    expect((await app.tracker.countActiveCalls('demo')).total).toBe(1);
    aborting.start();
    await aborting.stop({ abort: true });
    expect(aborting.stats.active).toBe(0);
    await aborting.idle();
  });

  it('an aborted signal option stops the simulator; a runCall signal aborts one call', async () => {
    const app = await startWebhookApp();
    const controller = new AbortController();
    const simulator = createSimulator({
      target: app.url,
      speed: 1,
      seed: 21,
      signal: controller.signal,
    });
    const delivered = deferred<void>();
    const callController = new AbortController();
    const first = simulator.runCall({
      provider: 'retell',
      outcome: 'completed',
      signal: callController.signal,
    });
    callController.abort();
    expect(await first).toMatchObject({ aborted: true, deliveries: [] });

    const second = createSimulator({
      target: app.url,
      speed: 1,
      seed: 22,
      signal: controller.signal,
      onDelivery: () => delivered.resolve(),
    });
    const running = second.runCall({
      provider: 'callerdesk',
      outcome: 'completed',
      direction: 'outbound',
    });
    second.start();
    await delivered.promise;
    controller.abort();
    expect((await running).aborted).toBe(true);
    await second.idle();
    expect(second.running).toBe(false);
    simulator.start();
    expect(simulator.running).toBe(false);
  });

  it('skips arrivals while maxActiveCalls calls are running', async () => {
    const release = deferred();
    const skipped = deferred();
    const server = createServer((request, response) => {
      request.resume();
      // The first call's first webhook is answered only once an arrival was skipped.
      void release.promise.then(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"ok":true}');
      });
    });
    const slow = await serveForTest(server);
    let skips = 0;
    const simulator = createSimulator({
      target: slow.url,
      rate: 1000,
      speed: 1,
      maxActiveCalls: 1,
      seed: 4,
      onSkip: () => {
        skips += 1;
        if (skips === 3) skipped.resolve();
      },
    });
    simulator.start();
    await skipped.promise;
    expect(simulator.stats).toMatchObject({ started: 1, active: 1 });
    expect(simulator.stats.skipped).toBe(skips);
    release.resolve();
    await simulator.stop({ abort: true });
    expect(simulator.stats).toMatchObject({ started: 1, active: 0 });
  });
});

describe('determinism', () => {
  const fixedNow = () => Date.UTC(2026, 5, 1, 12, 0, 0);
  async function traffic(app: WebhookApp, seed: number) {
    const before = app.received.length;
    const simulator = createSimulator({
      target: app.url,
      rate: 500,
      speed: Number.POSITIVE_INFINITY,
      maxCalls: 12,
      duplicateRate: 0.2,
      reorderRate: 0.3,
      seed,
      clock: { now: fixedNow },
    });
    simulator.start();
    await simulator.idle();
    await simulator.runCall();
    // Calls run concurrently, so compare each call's own sequence of requests.
    const byCall = new Map<string, string[]>();
    for (const request of app.received.slice(before)) {
      const body = request.body || request.url;
      const callId =
        /CallSid=([^&]+)/.exec(body)?.[1] ??
        /"call_id":"([^"]+)"/.exec(body)?.[1] ??
        /"?CallSid"?[:=]"?([\d.]+)/.exec(decodeURIComponent(body))?.[1] ??
        'unknown';
      const entry = [
        request.method,
        request.url,
        request.body,
        request.headers['x-twilio-signature'] ?? '',
      ].join(' ');
      byCall.set(callId, [...(byCall.get(callId) ?? []), entry]);
    }
    return { byCall, stats: simulator.stats };
  }

  it('sends the same payloads for the same seed (and clock), and others for another seed', async () => {
    // One app for both runs: Twilio's signatures cover the target's host and port.
    const app = await startWebhookApp();
    const first = await traffic(app, 2024);
    const second = await traffic(app, 2024);
    expect(first.byCall.has('unknown')).toBe(false);
    expect(first.byCall.size).toBe(13);
    expect(second.byCall).toEqual(first.byCall);
    expect(second.stats.byOutcome).toEqual(first.stats.byOutcome);
    expect(second.stats.duplicateDeliveries).toBe(first.stats.duplicateDeliveries);
    const other = await traffic(app, 2025);
    expect([...other.byCall.keys()]).not.toEqual([...first.byCall.keys()]);
  });
});

describe('calls as asked for', () => {
  it('runCall takes the line, direction, talk time and customer number', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 8,
    });
    const line = demoLines.find(
      (candidate) => candidate.branchId === 'south' && candidate.provider === 'retell',
    )!;
    const call = await simulator.runCall({
      line,
      outcome: 'completed',
      direction: 'inbound',
      talkDurationMs: 123_456,
      customerNumber: '+12125550123',
    });
    expect(call).toMatchObject({
      provider: 'retell',
      line,
      direction: 'inbound',
      from: '+12125550123',
      to: line.number,
      customerNumber: '+12125550123',
      talkDurationMs: 123_456,
    });
    const tracked = await expectTrackedEnd(app, call);
    expect(tracked).toMatchObject({ durationMs: 123_456, from: '+12125550123', to: line.number });
  });

  it('replays a call from its seed', async () => {
    const fixedNow = () => Date.UTC(2026, 0, 15, 10, 0, 0);
    // The tracker on the simulator's clock: on the wall clock its events are older than the
    // ended-call retention, and it drops them as replays of a forgotten call.
    const app = await startWebhookApp({ clock: clockFrom(fixedNow()) });
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      clock: { now: fixedNow },
      seed: 7, // a call none of whose webhooks repeats another's event (some seeds send such)
    });
    const first = await simulator.runCall();
    // The first run is new to the app: every event of it is published, none dropped.
    for (const delivery of first.deliveries) {
      expect(delivery.response).toMatchObject({ duplicates: 0 });
    }
    const again = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      clock: { now: fixedNow },
    });
    const replay = await again.runCall({ seed: first.seed });
    expect(replay.webhooks).toEqual(first.webhooks);
    expect(replay.deliveries.every((delivery) => delivery.ok)).toBe(true);
    // The same call ids: the app answers the replay as duplicates.
    expect(
      replay.deliveries.every(
        (delivery) => (delivery.response as { published: number }).published === 0,
      ),
    ).toBe(true);
  });

  it('sends to other paths: a path prefix, per-provider paths, CallerDesk by GET', async () => {
    const app = await startWebhookApp({ prefix: '/api/webhooks' });
    const simulator = createSimulator({
      target: `${app.url}/`,
      pathPrefix: '/api/webhooks/',
      speed: Number.POSITIVE_INFINITY,
      seed: 9,
      callerDeskMethod: 'GET',
    });
    for (const provider of simulatorProviders) {
      const call = await simulator.runCall({ provider, outcome: 'completed' });
      expect(call.ok).toBe(true);
      expect(new URL(call.deliveries[0]!.url).pathname).toBe(`/api/webhooks/${provider}`);
    }
    const callerDesk = app.received.filter((request) =>
      request.url.startsWith('/api/webhooks/callerdesk'),
    );
    expect(callerDesk.every((request) => request.method === 'GET' && request.body === '')).toBe(
      true,
    );
    expect(callerDesk[0]!.url).toContain('token=demo-callerdesk-token-0123');
    expect(callerDesk[0]!.url).toContain('SourceNumber=');
    const callerDeskCall = await simulator.runCall({ provider: 'callerdesk' });
    for (const delivery of callerDeskCall.deliveries) {
      expect(delivery.url).toBe(`${app.url}/api/webhooks/callerdesk?token=***`);
    }
    expect(simulator.stats.failedDeliveries).toBe(0);

    const other = createSimulator({
      target: app.url,
      paths: { twilio: 'api/webhooks/twilio?region=us' },
      providers: ['twilio'],
      speed: Number.POSITIVE_INFINITY,
      seed: 10,
    });
    const call = await other.runCall({ outcome: 'busy' });
    expect(call.ok).toBe(true);
    expect(call.deliveries[0]!.url).toBe(`${app.url}/api/webhooks/twilio?region=us`);
  });

  it('masks the CallerDesk token in delivery reports', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 14,
    });
    const call = await simulator.runCall({ provider: 'callerdesk' });
    for (const delivery of call.deliveries) {
      expect(delivery.url).toContain('token=***');
      expect(delivery.url).not.toContain('demo-callerdesk-token');
    }
  });
});

describe('failures', () => {
  for (const [provider, credentials] of [
    ['twilio', { twilioAuthToken: 'not-the-token' }],
    ['retell', { retellApiKey: 'not-the-key' }],
    ['callerdesk', { callerDeskToken: 'not-the-token-at-all' }],
  ] as const) {
    it(`${provider}: wrong credentials are answered 403 and reported as failed`, async () => {
      const app = await startWebhookApp();
      const deliveries: SimulatorDelivery[] = [];
      const simulator = createSimulator({
        target: app.url,
        speed: Number.POSITIVE_INFINITY,
        seed: 15,
        credentials,
        onDelivery: (delivery) => deliveries.push(delivery),
      });
      const call = await simulator.runCall({
        provider: provider as SimulatorProvider,
        outcome: 'completed',
      });
      expect(call.ok).toBe(false);
      expect(deliveries.length).toBeGreaterThan(0);
      for (const delivery of deliveries) {
        expect(delivery).toMatchObject({ ok: false, status: 403 });
        expect(delivery.error).toMatch(/does not match|wrong/);
      }
      const webhooks = new Set(deliveries.map((delivery) => delivery.index)).size;
      expect(simulator.stats).toMatchObject({
        failedDeliveries: deliveries.length,
        rejectedDeliveries: deliveries.length,
        lostWebhooks: webhooks,
        rejectedWebhooks: webhooks,
      });
      expect(app.bus.events).toHaveLength(0);
    });
  }

  it("answers with the app's 422 for a line the app does not know", async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 16,
      lines: [{ provider: 'retell', number: '+14155550199', tenantId: 'nobody' }],
    });
    const call = await simulator.runCall({ outcome: 'busy' });
    const firstAttempts = call.deliveries.filter((delivery) => delivery.retry === 0);
    expect(firstAttempts.map((delivery) => delivery.status)).toEqual([422, 422]);
    expect(call.deliveries[0]!.error).toMatch(/tenant/i);
    // Retell retries any non-2xx answer, a refusal too: three more times each.
    expect(call.deliveries.map((delivery) => delivery.status)).toEqual(Array(8).fill(422));
    expect(simulator.stats).toMatchObject({
      retries: 6,
      lostWebhooks: 2,
      rejectedDeliveries: 8,
      rejectedWebhooks: 2,
    });
    // The last attempt of each webhook is the one that lost it.
    expect(
      call.deliveries
        .filter((delivery) => delivery.lost)
        .map((delivery) => [delivery.index, delivery.retry])
        .sort(),
    ).toEqual([
      [0, 3],
      [1, 3],
    ]);
  });

  it('reports a target that does not answer as status 0 with the network error', async () => {
    const server = await serveForTest(createServer());
    const url = server.url;
    await server.close();
    const simulator = createSimulator({ target: url, speed: Number.POSITIVE_INFINITY, seed: 17 });
    const call = await simulator.runCall({ provider: 'twilio', outcome: 'failed' });
    expect(call.ok).toBe(false);
    expect(call.deliveries[0]).toMatchObject({ status: 0, ok: false });
    expect(call.deliveries[0]!.error).toMatch(/ECONNREFUSED/);
    // Twilio retries a failed connection once (rc=1, rp=ct,rt), then gives the webhook up.
    expect(call.deliveries.map((delivery) => `${delivery.index}:${delivery.retry}`).sort()).toEqual(
      ['0:0', '0:1', '1:0', '1:1'],
    );
    expect(simulator.stats).toMatchObject({
      failedDeliveries: 4,
      rejectedDeliveries: 0,
      retries: 2,
      lostWebhooks: 2,
      rejectedWebhooks: 0,
    });
    expect(simulator.stats.byHttpStatus).toEqual({ '0': 4 });
  });

  it('gives up on a delivery after timeoutMs', async () => {
    const server = await serveForTest(
      createServer((request) => {
        request.resume(); // never answers
      }),
    );
    const simulator = createSimulator({
      target: server.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 18,
      timeoutMs: 50,
    });
    const call = await simulator.runCall({ provider: 'callerdesk', outcome: 'busy' });
    expect(call.deliveries[0]).toMatchObject({
      status: 0,
      ok: false,
      error: 'no answer within 50 ms',
    });
  });

  it('ignores hooks that throw', async () => {
    const app = await startWebhookApp();
    const simulator = createSimulator({
      target: app.url,
      speed: Number.POSITIVE_INFINITY,
      seed: 19,
      onDelivery: () => {
        throw new Error('hook');
      },
      onCallStart: () => {
        throw new Error('hook');
      },
      onCallEnd: () => {
        throw new Error('hook');
      },
    });
    const call = await simulator.runCall({ provider: 'twilio' });
    expect(call.ok).toBe(true);
  });

  it('refuses invalid options with an InvalidArgumentError (resolve-simulator-options.test.ts has them all)', () => {
    expect(() => createSimulator({ target: 'ftp://example.com' })).toThrow(InvalidArgumentError);
    expect(() => createSimulator({ target: 'http://x', rate: 0 })).toThrow(
      /^createSimulator: rate/,
    );
  });

  it('rejects runCall options that cannot be met', async () => {
    const simulator = createSimulator({
      target: 'http://127.0.0.1:9',
      providers: ['twilio'],
      lines: demoLines.slice(0, 2),
    });
    await expect(simulator.runCall({ provider: 'retell' })).rejects.toThrow(
      /no line for provider "retell"/,
    );
    await expect(simulator.runCall({ provider: 'retell', line: demoLines[0] })).rejects.toThrow(
      /twilio line/,
    );
    await expect(simulator.runCall({ outcome: 'hung-up' as SimulatedOutcome })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(simulator.runCall({ duplicateRate: 3 })).rejects.toThrow(/duplicateRate/);
    await expect(simulator.runCall({ seed: Number.NaN })).rejects.toThrow(/seed/);
    expect(simulator.stats.started).toBe(0);
  });
});

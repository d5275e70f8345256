import { createServer } from 'node:http';
import { InvalidArgumentError } from '@calltrack/core';
import { clockFrom, serveForTest, stopTestServers } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred } from './__tests__/deferred';
import { startWebhookApp, type WebhookApp } from './__tests__/start-webhook-app';
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
      expect(simulator.stats).toMatchObject({
        failedDeliveries: deliveries.length,
        rejectedDeliveries: deliveries.length,
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
    expect(call.deliveries.map((delivery) => delivery.status)).toEqual([422, 422]);
    expect(call.deliveries[0]!.error).toMatch(/tenant/i);
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
    expect(simulator.stats).toMatchObject({ failedDeliveries: 2, rejectedDeliveries: 0 });
    expect(simulator.stats.byHttpStatus).toEqual({ '0': 2 });
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

import { createMemoryBus } from '@calltrack/bus';
import { createCallerDeskCallControl, createCallerDeskClient } from '@calltrack/callerdesk';
import { type CallControl, type CallEvent, ProviderApiError } from '@calltrack/core';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { demoCredentials, type ProviderApiFault } from '@calltrack/simulator';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallControlApp, startCallControlApp } from './__tests__/start-call-control-app';
import { createCallTracker } from './create-call-tracker';
import { createMemoryIdempotencyStore } from './create-memory-idempotency-store';
import { createTrackerHandler } from './create-tracker-handler';
import type { IdempotencyStore } from './idempotency-store';
import { isoAt, makeCallEvent, t0 } from './make-call-event';

const customer = '+14155550123';
const apps: CallControlApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: Parameters<typeof startCallControlApp>[0] = {}) {
  const app = await startCallControlApp(options);
  apps.push(app);
  return app;
}

let counter = 0;
/** A fresh request id. */
const rid = () => {
  counter += 1;
  return `req-${process.pid}-${counter}`;
};

/** A logger that keeps what it is told, with its level. */
const logLevels = () => {
  const entries: { level: string; message: string; context?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, context?: Record<string, unknown>): void => {
      entries.push({ level, message, ...(context === undefined ? {} : { context }) });
    };
  return { entries, logger: { debug: at('debug'), warn: at('warn'), error: at('error') } };
};

const isEvent = (callId: string, type: string) => (event: CallEvent) =>
  event.callId === callId && event.type === type;

describe('POST /calls', () => {
  it('places a call through the provider’s adapter; the webhooks that follow track it', async () => {
    const app = await start({ providerApi: { outcome: 'completed' } });
    const requestId = rid();
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: '+1 (415) 555-0123', requestId },
    });
    expect(placed.status).toBe(202);
    expect(placed.headers.get('cache-control')).toBe('no-store');
    expect(placed.body).toEqual({
      call: { provider: 'twilio', callId: expect.stringMatching(/^CA/), reference: requestId },
    });
    const { callId } = placed.body.call;
    expect(app.providerApi.calls[0]).toMatchObject({ to: customer, reference: requestId });
    await app.waitForEvent(isEvent(callId, 'call.ended'));
    expect(await app.tracker.getCall('demo', callId)).toMatchObject({
      tenantId: 'demo',
      provider: 'twilio',
      status: 'completed',
      direction: 'outbound',
      to: customer,
    });
  });

  it('answers a repeated requestId with the first answer and places nothing more', async () => {
    const app = await start({ providerApi: { outcome: 'busy' } });
    const body = { provider: 'retell', to: customer, requestId: rid() };
    const first = await app.api('/api/calls', { body });
    const again = await app.api('/api/calls', { body });
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 202, body: first.body });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(app.providerApi.countCalls({ reference: body.requestId })).toBe(1);
    // The same id from another tenant is another request.
    const other = await app.api('/api/calls', { body, token: 'other-agent' });
    expect(other.status).toBe(202);
    expect(other.body.call.callId).not.toBe(first.body.call.callId);
    expect(app.providerApi.countCalls({ reference: body.requestId })).toBe(2);
    // The same id with another call is refused.
    const reused = await app.api('/api/calls', { body: { ...body, to: '+14155550124' } });
    expect(reused).toMatchObject({ status: 422, body: { error: { code: 'request_id_reused' } } });
    expect(app.providerApi.countCalls()).toBe(2);
  });

  it('places a call once among concurrent duplicates', async () => {
    const app = await start({
      providerApi: { outcome: 'busy', fault: () => ({ type: 'delay', ms: 150 }) },
    });
    const body = { provider: 'twilio', to: customer, requestId: rid() };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => app.api('/api/calls', { body })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(202));
    expect(new Set(answers.map((answer) => JSON.stringify(answer.body))).size).toBe(1);
    expect(answers.filter((answer) => answer.headers.has('idempotent-replayed'))).toHaveLength(7);
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('answers a repeat while the first still runs with 409 and Retry-After', async () => {
    // The provider's answer to the first request is held until the repeat has been answered
    // (a fixed delay failed whenever the repeat took longer than it on a loaded machine).
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const app = await start({
      providerApi: { outcome: 'busy', fault: () => ({ type: 'hold', until: released }) },
      handler: { idempotency: { waitMs: 30 } },
    });
    const body = { provider: 'twilio', to: customer, requestId: rid() };
    const first = app.api('/api/calls', { body });
    // The first request holds the id once the provider API has the call.
    while (app.providerApi.countCalls() === 0)
      await new Promise((resolve) => setImmediate(resolve));
    const repeat = await app.api('/api/calls', { body });
    release();
    expect(repeat).toMatchObject({ status: 409, body: { error: { code: 'request_in_progress' } } });
    expect(repeat.headers.get('retry-after')).toBe('1');
    expect((await first).status).toBe(202);
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('never places again under an id whose first request died before recording (injected clock)', async () => {
    const memory = createMemoryIdempotencyStore();
    // Fault injection: the store fails after the call was placed, before the answer is recorded
    // (as when the process dies there): the caller still gets the provider's answer.
    const store: IdempotencyStore = {
      ...memory,
      complete: () => Promise.reject(new Error('store unreachable')),
    };
    let now = Date.UTC(2026, 10, 21, 10, 0, 0);
    const app = await start({
      providerApi: { outcome: 'busy' },
      handler: {
        idempotency: { store, waitMs: 20, pendingTimeoutMs: 120_000 },
        clock: { now: () => now },
      },
    });
    const body = { provider: 'twilio', to: customer, requestId: rid() };
    expect((await app.api('/api/calls', { body })).status).toBe(202);
    // Its claim stays pending: repeats wait, then hear it is still running…
    expect(await app.api('/api/calls', { body })).toMatchObject({
      status: 409,
      body: { error: { code: 'request_in_progress' } },
    });
    // …until it is older than any placing takes: then the outcome is unknown, never a second call.
    now += 120_001;
    expect(await app.api('/api/calls', { body })).toMatchObject({
      status: 409,
      body: { error: { code: 'request_outcome_unknown' } },
    });
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('refuses bad input with a 4xx naming the problem, and records nothing', async () => {
    const app = await start();
    const requestId = rid();
    const cases: [unknown, number, string | RegExp][] = [
      [{ provider: 'twilio', to: customer }, 400, '"requestId" is required.'],
      [{ provider: 'twilio', requestId }, 400, '"to" is required.'],
      [{ provider: 'twilio', to: '555-0123', requestId }, 400, /"to" must be an E.164/],
      [{ provider: 'twilio', to: customer, from: 42, requestId }, 400, '"from" must be a string.'],
      [{ provider: 'twilio', to: customer, agentNumber: '+0', requestId }, 400, /"agentNumber"/],
      [{ provider: 'twilio', to: customer, requestId: 'no spaces' }, 400, /"requestId" must be/],
      [{ provider: 'Twilio!', to: customer, requestId }, 400, /"provider" must be/],
      [
        { provider: 'twilio', to: customer, requestId, tenantId: 'x' },
        400,
        'Unknown field "tenantId".',
      ],
      [{ provider: 'vapi', to: customer, requestId }, 400, /no provider "vapi"/],
      [[1, 2], 400, 'The body must be a JSON object.'],
      ['{"provider": "twilio",', 400, 'The body is not valid JSON.'],
      // A key given twice is ambiguous: JSON.parse keeps the last, a proxy or a log may read the
      // first (which number was called?), as with a query parameter given twice.
      [
        `{"provider": "twilio", "to": "${customer}", "to": "+14155550199", "requestId": "${requestId}"}`,
        400,
        'The body gives "to" twice in one object: give each key once.',
      ],
      [
        `{"provider": "twilio", "to": "${customer}", "requestId": "${requestId}", "requestI\\u0064": "x"}`,
        400,
        'The body gives "requestId" twice in one object: give each key once.',
      ],
    ];
    for (const [body, status, message] of cases) {
      const answer = await app.api('/api/calls', { body });
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect(
      await app.api('/api/calls', {
        body: 'provider=twilio',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
    ).toMatchObject({ status: 415 });
    expect(
      await app.api('/api/calls', {
        body: { provider: 'twilio', to: customer, requestId: 'x'.repeat(9000) },
      }),
    ).toMatchObject({ status: 413 });
    expect(await app.api('/api/calls', { body: {}, token: null })).toMatchObject({ status: 401 });
    const get = await app.api('/api/calls', { method: 'GET' });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    // A super-admin places for its own tenant only.
    expect(
      await app.api('/api/calls?tenantId=demo', {
        body: { provider: 'twilio', to: customer, requestId },
        token: 'admin',
      }),
    ).toMatchObject({ status: 400 });
    expect(app.providerApi.countCalls()).toBe(0);
    // None of it used the request id.
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId },
    });
    expect(placed.status).toBe(202);
  });

  it('answers 501 for a known provider without adapter, logged at debug, not as an error', async () => {
    const app = await startCallControlApp();
    apps.push(app);
    const logged = logLevels();
    const url = await app.addApi({
      callControl: { twilio: app.adapters.twilio },
      logger: logged.logger,
    });
    const body = { provider: 'retell', to: customer, requestId: rid() };
    const answer = await app.api('/api/calls', { base: url, body });
    expect(answer).toMatchObject({
      status: 501,
      body: { error: { code: 'unsupported_operation' } },
    });
    expect(logged.entries).toEqual([
      {
        level: 'debug',
        message: 'Refused an operation nothing configured can do.',
        context: { path: '/api/calls', message: 'No call control is configured for retell.' },
      },
    ]);
  });

  it('frees the id when the adapter refuses before calling the provider', async () => {
    const app = await start({ providerApi: { outcome: 'completed' } });
    const body = { provider: 'callerdesk', to: '+919812345678', requestId: rid() };
    const refused = await app.api('/api/calls', { body });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_argument' } } });
    expect(refused.body.error.message).toMatch(/agentNumber/);
    const corrected = await app.api('/api/calls', {
      body: { ...body, agentNumber: '+919900112233' },
    });
    expect(corrected).toMatchObject({
      status: 202,
      body: { call: { provider: 'callerdesk', callId: null, reference: body.requestId } },
    });
  });

  it('maps the simulated provider’s failures to clear statuses, and keeps them for repeats', async () => {
    const faults: Record<string, ProviderApiFault> = {
      '+14155550131': { type: 'refuse' },
      '+14155550132': { type: 'fail', status: 503 },
      '+14155550133': { type: 'fail', placed: true },
      '+14155550134': { type: 'refuse', status: 429, message: 'Too Many Requests' },
      '+14155550135': { type: 'delay', ms: 2_500 },
    };
    const app = await start({
      providerApi: {
        outcome: 'busy',
        fault: (request) => (request.to ? faults[request.to] : undefined),
      },
    });
    const place = (to: string, requestId = rid()) =>
      app.api('/api/calls', { body: { provider: 'twilio', to, requestId } });
    const refused = await place('+14155550131', 'refused-once');
    expect(refused).toMatchObject({
      status: 422,
      body: {
        error: {
          code: 'provider_refused',
          provider: 'twilio',
          retryable: false,
          providerStatus: 400,
          providerCode: 21211,
        },
      },
    });
    expect(await place('+14155550131', 'refused-once')).toMatchObject({
      status: 422,
      body: refused.body,
    });
    expect(await place('+14155550132')).toMatchObject({
      status: 502,
      body: { error: { code: 'provider_unavailable', retryable: true, providerStatus: 503 } },
    });
    expect(await place('+14155550133')).toMatchObject({
      status: 502,
      body: { error: { code: 'provider_unavailable', retryable: true } },
    });
    expect(await place('+14155550134')).toMatchObject({
      status: 503,
      body: { error: { code: 'provider_rate_limited', retryable: true } },
    });
    // The adapter's client gives up after 2 s: no answer, maybe placed.
    expect(await place('+14155550135')).toMatchObject({
      status: 504,
      body: { error: { code: 'provider_no_answer', retryable: true } },
    });
    expect(app.providerApi.countCalls()).toBe(2);
  });

  it('answers 504 when Retell or CallerDesk do not answer within the client’s timeoutMs', async () => {
    const app = await start({
      providerApi: { outcome: 'busy', fault: () => ({ type: 'delay', ms: 1_500 }) },
    });
    const baseUrl = app.providerApi.url!;
    const url = await app.addApi({
      callControl: {
        retell: createRetellCallControl({
          client: createRetellClient({
            apiKey: demoCredentials.retellApiKey,
            baseUrl,
            timeoutMs: 100,
          }),
          from: '+14155550110',
        }),
        callerdesk: createCallerDeskCallControl({
          client: createCallerDeskClient({
            authCode: demoCredentials.callerDeskAuthCode,
            baseUrl,
            timeoutMs: 100,
          }),
          from: '08041234567',
        }),
      },
    });
    for (const body of [
      { provider: 'retell', to: customer },
      { provider: 'callerdesk', to: '+919812345678', agentNumber: '+919900112233' },
    ]) {
      const started = performance.now();
      const answer = await app.api('/api/calls', {
        base: url,
        body: { ...body, requestId: rid() },
      });
      expect(answer).toMatchObject({
        status: 504,
        body: { error: { code: 'provider_no_answer', provider: body.provider, retryable: true } },
      });
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });

  it('passes a provider’s 429 Retry-After on, and lets the same requestId try again', async () => {
    const app = await start({ providerApi: { outcome: 'busy' } });
    let limited = 1;
    const rateLimitedOnce: typeof fetch = (input, init) =>
      limited-- > 0
        ? Promise.resolve(
            new Response(
              JSON.stringify({ code: 20429, message: 'Too Many Requests', status: 429 }),
              {
                status: 429,
                headers: { 'content-type': 'application/json', 'retry-after': '7' },
              },
            ),
          )
        : fetch(input, init);
    const twilio = createTwilioCallControl({
      client: createTwilioClient({
        accountSid: demoCredentials.twilioAccountSid,
        authToken: demoCredentials.twilioAuthToken,
        baseUrl: app.providerApi.url!,
        fetch: rateLimitedOnce,
      }),
      from: '+14155550100',
      statusCallbackUrl: `${app.url}/webhooks/twilio`,
      answer: { url: 'https://app.example.com/twiml' },
    });
    const url = await app.addApi({ callControl: { twilio } });
    const body = { provider: 'twilio', to: customer, requestId: rid() };
    const refused = await app.api('/api/calls', { base: url, body });
    expect(refused).toMatchObject({
      status: 503,
      body: { error: { code: 'provider_rate_limited', retryable: true, providerStatus: 429 } },
    });
    expect(refused.headers.get('retry-after')).toBe('7');
    expect(app.providerApi.countCalls()).toBe(0);
    // Nothing was placed: the request id is free, and the repeat places the call.
    const placed = await app.api('/api/calls', { base: url, body });
    expect(placed).toMatchObject({ status: 202, body: { call: { reference: body.requestId } } });
    expect(placed.headers.get('idempotent-replayed')).toBeNull();
    expect(await app.api('/api/calls', { base: url, body })).toMatchObject({
      status: 202,
      body: placed.body,
    });
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('lets the same requestId try again once the provider accepted the app’s credentials (401, 403)', async () => {
    const app = await start({ providerApi: { outcome: 'busy' } });
    for (const status of [401, 403]) {
      // The operator's credentials are wrong, then fixed: the provider refuses once.
      let rejected = 1;
      const rejectingOnce: typeof fetch = (input, init) =>
        rejected-- > 0
          ? Promise.resolve(
              Response.json({ code: 20003, message: 'Authenticate', status }, { status }),
            )
          : fetch(input, init);
      const twilio = createTwilioCallControl({
        client: createTwilioClient({
          accountSid: demoCredentials.twilioAccountSid,
          authToken: demoCredentials.twilioAuthToken,
          baseUrl: app.providerApi.url!,
          fetch: rejectingOnce,
        }),
        from: '+14155550100',
        statusCallbackUrl: `${app.url}/webhooks/twilio`,
        answer: { url: 'https://app.example.com/twiml' },
      });
      const url = await app.addApi({ callControl: { twilio } });
      const body = { provider: 'twilio', to: customer, requestId: rid() };
      const placedBefore = app.providerApi.countCalls();
      const refused = await app.api('/api/calls', { base: url, body });
      expect(refused).toMatchObject({
        status: 502,
        body: { error: { code: 'provider_credentials_rejected', providerStatus: status } },
      });
      expect(app.providerApi.countCalls()).toBe(placedBefore);
      // Nothing was placed: the request id is free, and the repeat places the call.
      const placed = await app.api('/api/calls', { base: url, body });
      expect(placed).toMatchObject({ status: 202, body: { call: { reference: body.requestId } } });
      expect(placed.headers.get('idempotent-replayed')).toBeNull();
      expect(app.providerApi.countCalls()).toBe(placedBefore + 1);
    }
  });

  it('passes on an absurd Retry-After as a day, never as "Infinity"', async () => {
    const app = await start({ providerApi: { outcome: 'busy' } });
    const rateLimited: typeof fetch = () =>
      Promise.resolve(
        new Response(JSON.stringify({ code: 20429, message: 'Too Many Requests', status: 429 }), {
          status: 429,
          // Too many digits for a double: read naively it is Infinity.
          headers: { 'content-type': 'application/json', 'retry-after': '9'.repeat(400) },
        }),
      );
    const twilio = createTwilioCallControl({
      client: createTwilioClient({
        accountSid: demoCredentials.twilioAccountSid,
        authToken: demoCredentials.twilioAuthToken,
        baseUrl: app.providerApi.url!,
        fetch: rateLimited,
      }),
      from: '+14155550100',
      statusCallbackUrl: `${app.url}/webhooks/twilio`,
      answer: { url: 'https://app.example.com/twiml' },
    });
    const url = await app.addApi({ callControl: { twilio } });
    const refused = await app.api('/api/calls', {
      base: url,
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    expect(refused).toMatchObject({
      status: 503,
      body: { error: { code: 'provider_rate_limited' } },
    });
    expect(refused.headers.get('retry-after')).toBe('86400');
  });

  it('answers a 429 on ending a call with the provider’s Retry-After too', async () => {
    const app = await start();
    const now = new Date().toISOString();
    await app.tracker.ingest(
      makeCallEvent({ tenantId: 'demo', callId: 'CA-limited', occurredAt: now, receivedAt: now }),
    );
    const url = await app.addApi({
      callControl: {
        twilio: {
          provider: 'twilio',
          placeCall: () => Promise.reject(new Error('not used')),
          terminateCall: () =>
            Promise.reject(
              new ProviderApiError({
                message: 'Too Many Requests',
                provider: 'twilio',
                providerStatus: 429,
                retryAfterSeconds: 3,
              }),
            ),
        },
      },
    });
    const answer = await app.api('/api/calls/CA-limited/terminate', { base: url });
    expect(answer).toMatchObject({
      status: 503,
      body: { error: { code: 'provider_rate_limited' } },
    });
    expect(answer.headers.get('retry-after')).toBe('3');
  });

  it('refuses a CallerDesk call from another tenant’s virtual number: it would be tracked as theirs', async () => {
    const app = await start({ providerApi: { outcome: 'completed' } });
    const call = { provider: 'callerdesk', to: '+919812345678', agentNumber: '+919900112233' };
    // Tenant "other" names demo's virtual number, or leaves the adapter's (demo's) to be used.
    for (const from of ['+918041234567', undefined]) {
      const refused = await app.api('/api/calls', {
        token: 'other-agent',
        body: { ...call, ...(from === undefined ? {} : { from }), requestId: rid() },
      });
      expect(refused).toMatchObject({ status: 400, body: { error: { code: 'invalid_argument' } } });
      expect(refused.body.error.message).toMatch(/virtual numbers/);
    }
    expect(app.providerApi.calls).toHaveLength(0);
    // Demo places from its own number, and its call is tracked as its own.
    const placed = await app.api('/api/calls', {
      body: { ...call, from: '+918041234567', requestId: rid() },
    });
    expect(placed.status).toBe(202);
    const callId = app.providerApi.calls[0]!.callId;
    expect((await app.waitForEvent(isEvent(callId, 'call.ended'))).tenantId).toBe('demo');
  });

  it('answers 502 when the provider rejects the app’s own credentials', async () => {
    const app = await start();
    const rejecting: CallControl = {
      provider: 'twilio',
      placeCall: () =>
        Promise.reject(
          new ProviderApiError({
            message: 'Authenticate',
            provider: 'twilio',
            providerStatus: 401,
          }),
        ),
      terminateCall: () => Promise.resolve(),
    };
    const url = await app.addApi({ callControl: () => rejecting });
    expect(
      await app.api('/api/calls', {
        base: url,
        body: { provider: 'twilio', to: customer, requestId: rid() },
      }),
    ).toMatchObject({ status: 502, body: { error: { code: 'provider_credentials_rejected' } } });
  });

  it('asks a callControl function for the adapter, with the principal and the tenant', async () => {
    const app = await start();
    const asked: unknown[] = [];
    const url = await app.addApi({
      callControl: async (principal, provider, context) => {
        asked.push({ tenantId: principal.tenantId, provider, context });
        return provider === 'twilio' ? app.adapters.twilio : undefined;
      },
    });
    const placed = await app.api('/api/calls', {
      base: url,
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    expect(placed.status).toBe(202);
    expect(
      (
        await app.api('/api/calls', {
          base: url,
          body: { provider: 'retell', to: customer, requestId: rid() },
        })
      ).status,
    ).toBe(501);
    expect(asked).toEqual([
      { tenantId: 'demo', provider: 'twilio', context: { tenantId: 'demo', operation: 'place' } },
      { tenantId: 'demo', provider: 'retell', context: { tenantId: 'demo', operation: 'place' } },
    ]);
  });
});

describe('POST /calls/:callId/terminate', () => {
  it('ends an active call; the webhook that follows ends it; a repeat is 200 with its status', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
    });
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    // Another tenant cannot see it.
    expect(await app.api(path, { token: 'other-agent' })).toMatchObject({ status: 404 });
    const terminating = await app.api(path);
    expect(terminating).toMatchObject({ status: 202, body: { callId, status: 'terminating' } });
    // Still active in the tracker until the webhook: asking again is not an error.
    expect((await app.api(path)).status).toBeLessThan(300);
    const ended = await app.waitForEvent(isEvent(callId, 'call.ended'));
    expect(ended.status).toBe('completed');
    expect(await app.api(path)).toMatchObject({
      status: 200,
      body: { callId, status: 'completed' },
    });
    expect(app.providerApi.calls[0]).toMatchObject({ terminated: true, status: 'completed' });
  });

  it('refuses what an HTML form sends (415), as POST /calls does: no cross-site hang-up', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
    });
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    for (const [contentType, body] of [
      ['application/x-www-form-urlencoded', 'x=1'],
      ['multipart/form-data; boundary=b', '--b--'],
      ['text/plain', 'x'],
    ] as const) {
      expect(await app.api(path, { body, headers: { 'content-type': contentType } })).toMatchObject(
        {
          status: 415,
        },
      );
    }
    expect(app.providerApi.calls[0]!.terminated).toBe(false);
    // No body, or JSON, as the React client and scripts send it.
    expect(
      await app.api(path, { body: '{}', headers: { 'content-type': 'application/json' } }),
    ).toMatchObject({ status: 202 });
  });

  it('refuses a body that says anything (400): the call in the path is ended, whatever a body names', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
    });
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    // Read, a `{ "callId": … }` or `{ "tenantId": … }` would have ended the call in the path.
    expect(await app.api(path, { body: { callId: 'CA-other' } })).toMatchObject({
      status: 400,
      body: {
        error: {
          code: 'invalid_payload',
          message: expect.stringMatching(
            /^"callId" is not a field of POST \/calls\/:callId\/terminate/,
          ),
        },
      },
    });
    for (const body of ['null', '[]', '"x"', '{"tenantId":"other"}', 'nope']) {
      expect(
        await app.api(path, { body, headers: { 'content-type': 'application/json' } }),
      ).toMatchObject({ status: 400, body: { error: { code: 'invalid_payload' } } });
    }
    expect(
      await app.api(path, {
        body: `{"x":"${'a'.repeat(2048)}"}`,
        headers: { 'content-type': 'application/json' },
      }),
    ).toMatchObject({ status: 413 });
    expect(app.providerApi.calls[0]!.terminated).toBe(false);
    expect(await app.api(path, { body: {} })).toMatchObject({ status: 202 });
    expect(app.providerApi.calls[0]!.terminated).toBe(true);
  });

  it('refuses a hang-up or a placed call from another origin’s page with 403 before authenticate, as the dialer does (allowedOrigins)', async () => {
    let authenticated = 0;
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      handler: {
        allowedOrigins: ['https://App.example:443/'],
        authenticate: (request) => {
          authenticated += 1;
          const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
          return token === 'demo-agent' ? { tenantId: 'demo', userId: 'agent-1' } : null;
        },
      },
    });
    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    expect(placed.status).toBe(202);
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    const before = authenticated;
    // As a browser sends a bodyless `no-cors` POST of another origin's page (a cookie goes with
    // it; no preflight): with a foreign or `null` Origin, or with none and Sec-Fetch-Site saying
    // another origin's page sent it.
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
    ] as Record<string, string>[]) {
      const refused = await app.api(path, { headers });
      expect(refused.status).toBe(403);
      expect(refused.headers.get('cache-control')).toBe('no-store');
      expect(refused.body.error.code).toBe('origin_not_allowed');
      expect(refused.body.error.message).toMatch(/may not write here\.$/);
      const place = await app.api('/api/calls', {
        body: { provider: 'twilio', to: customer, requestId: rid() },
        headers,
      });
      expect(place.status).toBe(403);
    }
    expect(
      (await app.api(path, { headers: { 'sec-fetch-site': 'cross-site' } })).body.error.message,
    ).toBe('A cross-site page of another origin may not write here.');
    expect(authenticated).toBe(before);
    expect(app.providerApi.countCalls()).toBe(1);
    expect(app.providerApi.calls[0]!.terminated).toBe(false);
    // Reads are not checked (CORS keeps the answer from the page).
    expect(
      (
        await app.api('/api/calls/active', {
          method: 'GET',
          headers: { origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(200);
    // The app's own page, a typed URL, and no browser go on.
    for (const headers of [
      { origin: 'https://app.example', 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      {},
    ] as Record<string, string>[]) {
      expect((await app.api(path, { headers })).status).toBeLessThan(300);
    }
    expect(app.providerApi.calls[0]!.terminated).toBe(true);
    expect(() =>
      createTrackerHandler({
        tracker: app.tracker,
        authenticate: () => null,
        allowedOrigins: ['app.example'],
      }),
    ).toThrow(/createTrackerHandler: allowedOrigins: "app.example" is not an origin/);
  });

  it('lets a super-admin end any tenant’s call, or the one of the tenant it names', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
    });
    const placed = await app.api('/api/calls', {
      body: { provider: 'retell', to: customer, requestId: rid() },
    });
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${callId}/terminate`;
    expect(await app.api(`${path}?tenantId=other`, { token: 'admin' })).toMatchObject({
      status: 404,
    });
    expect(await app.api(path, { token: 'admin' })).toMatchObject({ status: 202 });
    expect((await app.waitForEvent(isEvent(callId, 'call.ended'))).status).toBe('completed');
    expect(await app.api(`${path}?tenantId=demo`, { token: 'admin' })).toMatchObject({
      status: 200,
      body: { status: 'completed' },
    });
    // A tenant may not name a tenant.
    expect(await app.api(`${path}?tenantId=demo`)).toMatchObject({ status: 400 });
  });

  it('lets a super-admin end another tenant’s active call behind more than 10,000 newer ones', async () => {
    let clock = t0;
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: { now: () => clock },
      logger: {},
    });
    await tracker.ingest(
      makeCallEvent({ tenantId: 'old', callId: 'CA-oldest', occurredAt: isoAt(0) }),
    );
    for (let index = 1; index <= 10_000; index += 1) {
      clock = t0 + index;
      await tracker.ingest(
        makeCallEvent({ tenantId: 'busy', callId: `CA-busy-${index}`, occurredAt: isoAt(index) }),
      );
    }
    const ended: string[] = [];
    const control: CallControl = {
      provider: 'twilio',
      placeCall: () => Promise.reject(new Error('not used')),
      terminateCall: async (callId) => {
        ended.push(callId);
      },
    };
    const handler = createTrackerHandler({
      tracker,
      authenticate: () => ({ tenantId: 'ops', allTenants: true }),
      callControl: { twilio: control },
      logger: {},
    });
    const terminate = (callId: string) =>
      handler(new Request(`http://localhost/calls/${callId}/terminate`, { method: 'POST' }));
    const response = await terminate('CA-oldest');
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ callId: 'CA-oldest', status: 'terminating' });
    expect((await terminate('CA-busy-10000')).status).toBe(202);
    expect(ended).toEqual(['CA-oldest', 'CA-busy-10000']);
    expect((await terminate('CA-nope')).status).toBe(404);
  }, 60_000);

  it('answers 409 for a call known only from its details: it is not active, nothing to end', async () => {
    const tracker = createCallTracker({
      bus: createMemoryBus(),
      clock: { now: () => t0 },
      logger: {},
    });
    // An analysis of a call that started before the tracker did: no status, not active.
    const analyzed = { type: 'call.analyzed', status: undefined, data: { analysis: {} } };
    await tracker.ingest(makeCallEvent({ tenantId: 'demo', callId: 'CA-details', ...analyzed }));
    await tracker.ingest(makeCallEvent({ tenantId: 'other', callId: 'CA-theirs', ...analyzed }));
    // The other tenant has an active call too, so a super-admin's search reads its calls.
    await tracker.ingest(makeCallEvent({ tenantId: 'other', callId: 'CA-live' }));
    expect(await tracker.getCall('demo', 'CA-details')).toMatchObject({ active: false });
    const ended: string[] = [];
    const control: CallControl = {
      provider: 'twilio',
      placeCall: () => Promise.reject(new Error('not used')),
      terminateCall: async (callId) => {
        ended.push(callId);
      },
    };
    const handlerFor = (principal: { tenantId: string; allTenants?: boolean }) =>
      createTrackerHandler({
        tracker,
        authenticate: () => principal,
        callControl: { twilio: control },
        logger: {},
      });
    const terminate = (callId: string, principal: { tenantId: string; allTenants?: boolean }) =>
      handlerFor(principal)(
        new Request(`http://localhost/calls/${callId}/terminate`, { method: 'POST' }),
      );
    const refused = await terminate('CA-details', { tenantId: 'demo' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({
      error: { code: 'call_not_active', message: expect.stringMatching(/not active/) },
    });
    // A super-admin's search of the other tenants looks for an active call only.
    const search = await terminate('CA-theirs', { tenantId: 'ops', allTenants: true });
    expect(search.status).toBe(404);
    expect(ended).toEqual([]);
  });

  it('answers 404 for an unknown call, 501 for CallerDesk, and maps the provider’s failures', async () => {
    const logged = logLevels();
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      handler: { logger: logged.logger },
    });
    expect(await app.api('/api/calls/CA-nope/terminate')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    await app.api('/api/calls', {
      body: {
        provider: 'callerdesk',
        to: '+919812345678',
        agentNumber: '+919900112233',
        requestId: rid(),
      },
    });
    const callerDeskCall = app.providerApi.calls[0]!.callId;
    await app.waitForEvent(isEvent(callerDeskCall, 'call.answered'));
    expect(await app.api(`/api/calls/${callerDeskCall}/terminate`)).toMatchObject({
      status: 501,
      body: { error: { code: 'unsupported_operation' } },
    });
    // Expected (CallerDesk has no API for it): not an error in the log.
    expect(logged.entries.map(({ level }) => level)).toEqual(['debug']);

    const placed = await app.api('/api/calls', {
      body: { provider: 'twilio', to: customer, requestId: rid() },
    });
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.initiated'));
    app.providerApi.setFault((request) =>
      request.operation === 'terminate' ? { type: 'fail', status: 500 } : undefined,
    );
    expect(await app.api(`/api/calls/${callId}/terminate`)).toMatchObject({
      status: 502,
      body: { error: { code: 'provider_unavailable', retryable: true, providerStatus: 500 } },
    });
    expect(await app.api(`/api/calls/${callId}/terminate`, { method: 'GET' })).toMatchObject({
      status: 405,
    });
  });
});

describe('createTrackerHandler options for call control', () => {
  it('refuses a callControl that is not adapters, and idempotency times that are not positive', () => {
    const base = {
      tracker: {} as never,
      authenticate: () => ({ tenantId: 'demo' }),
    };
    expect(() => createTrackerHandler({ ...base, callControl: [] as never })).toThrow(
      /callControl must be a record/,
    );
    expect(() =>
      createTrackerHandler({ ...base, callControl: { twilio: { placeCall() {} } as never } }),
    ).toThrow(/callControl.twilio is not a CallControl/);
    expect(() =>
      createTrackerHandler({
        ...base,
        callControl: () => undefined,
        idempotency: { ttlMs: 0 },
      }),
    ).toThrow(/idempotency.ttlMs must be a positive number/);
  });
});

describe('without callControl', () => {
  it('the call-control paths are unknown', async () => {
    const app = await start();
    const url = await app.addApi({ callControl: undefined });
    expect(
      await app.api('/api/calls', {
        base: url,
        body: { provider: 'twilio', to: customer, requestId: rid() },
      }),
    ).toMatchObject({ status: 404 });
    expect(await app.api('/api/calls/CA1/terminate', { base: url })).toMatchObject({ status: 404 });
  });
});

import type { CallEvent } from '@calltrack/core';
import { signRetellWebhook } from '@calltrack/retell';
import { demoCredentials } from '@calltrack/simulator';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallControlApp, startCallControlApp } from './__tests__/start-call-control-app';

// The app mounts its body parsers before everything, the order the guides warned against: the
// tracker's JSON API works behind them; provider webhooks are still refused.

const customer = '+14155550123';
const apps: CallControlApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(options: Parameters<typeof startCallControlApp>[0]) {
  const app = await startCallControlApp(options);
  apps.push(app);
  return app;
}

let counter = 0;
/** A fresh request id. */
const rid = () => {
  counter += 1;
  return `parsed-${process.pid}-${counter}`;
};

const isEvent = (callId: string, type: string) => (event: CallEvent) =>
  event.callId === callId && event.type === type;

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describe('the tracker API behind express.json()', () => {
  it('places, reads and ends calls as it does without the parser', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      bodyParsers: [express.json()],
    });
    const body = { provider: 'twilio', to: '+1 (415) 555-0123', requestId: rid() };
    const placed = await app.api('/api/calls', { body });
    expect(placed).toMatchObject({
      status: 202,
      body: { call: { provider: 'twilio', callId: expect.stringMatching(/^CA/) } },
    });
    const { callId } = placed.body.call;
    const again = await app.api('/api/calls', { body });
    expect(again).toMatchObject({ status: 202, body: placed.body });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(app.providerApi.countCalls()).toBe(1);
    expect(app.providerApi.calls[0]).toMatchObject({ to: customer });

    // Bad input is still the route's 400, and JSON the parser cannot read is the parser's 400.
    expect(
      await app.api('/api/calls', { body: { ...body, requestId: rid(), extra: 1 } }),
    ).toMatchObject({ status: 400, body: { error: { code: 'invalid_argument' } } });
    expect(await app.api('/api/calls', { body: '{"provider":', headers: {} })).toMatchObject({
      status: 400,
      body: { error: { type: 'entity.parse.failed' } },
    });

    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const active = await app.api('/api/calls/active', { method: 'GET' });
    expect(active.status).toBe(200);
    expect(active.body.calls.map((call: { callId: string }) => call.callId)).toContain(callId);
    const one = await app.api(`/api/calls/active/${encodeURIComponent(callId)}`, {
      method: 'GET',
    });
    expect(one).toMatchObject({ status: 200, body: { call: { callId, tenantId: 'demo' } } });

    // A JSON body (the parser reads it) and no body at all (it does not) both end the call.
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    // A body that says anything is refused, as without the parser.
    expect(await app.api(path, { body: { callId: 'CA-other' } })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_payload' } },
    });
    expect(await app.api(path, { body: {} })).toMatchObject({
      status: 202,
      body: { callId, status: 'terminating' },
    });
    expect((await app.api(path)).status).toBeLessThan(300);
    await app.waitForEvent(isEvent(callId, 'call.ended'));
    expect(await app.api(path, { body: {} })).toMatchObject({
      status: 200,
      body: { callId, status: 'completed' },
    });
  });

  it('holds a parsed POST /calls body to its 8 KiB limit, under the parser’s own', async () => {
    const app = await start({ bodyParsers: [express.json({ limit: '1mb' })] });
    const padded = { provider: 'twilio', to: customer, requestId: rid(), pad: 'x'.repeat(9000) };
    expect(await app.api('/api/calls', { body: padded })).toMatchObject({
      status: 413,
      body: { error: { code: 'payload_too_large' } },
    });
    expect(app.providerApi.countCalls()).toBe(0);

    const strict = await start({ bodyParsers: [express.json()] });
    const huge = { ...padded, pad: 'x'.repeat(200 * 1024) };
    expect(await strict.api('/api/calls', { body: huge })).toMatchObject({
      status: 413,
      body: { error: { type: 'entity.too.large' } },
    });
    expect(strict.providerApi.countCalls()).toBe(0);
  });

  it('answers a body too deep for JSON.stringify with the 413 it gives without the parser', async () => {
    // 20,000 levels: within the parser's 100 KB, past what JSON.stringify can recurse into;
    // over POST /calls' 8 KiB.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    for (const app of [await start({}), await start({ bodyParsers: [express.json()] })]) {
      expect(await app.api('/api/calls', { body: deep })).toMatchObject({
        status: 413,
        body: { error: { code: 'payload_too_large' } },
      });
      expect(app.providerApi.countCalls()).toBe(0);
    }
  });

  it('refuses a number JSON cannot carry (1e400) with the 400 it gives without the parser', async () => {
    // 1e400 is read as Infinity, which JSON.stringify writes as null: an absent "from".
    const body = (requestId: string) =>
      `{"provider":"twilio","to":"${customer}","from":1e400,"requestId":"${requestId}"}`;
    for (const app of [await start({}), await start({ bodyParsers: [express.json()] })]) {
      expect((await app.api('/api/calls', { body: body(rid()) })).status).toBe(400);
      expect(app.providerApi.countCalls()).toBe(0);
    }
  });

  it('refuses a top-level JSON string behind express.json({ strict: false }), as without it', async () => {
    const app = await start({ bodyParsers: [express.json({ strict: false })] });
    const place = { provider: 'twilio', to: customer };
    const wrapped = JSON.stringify(JSON.stringify({ ...place, requestId: rid() }));
    expect(await app.api('/api/calls', { body: wrapped })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_payload', message: 'The body must be a JSON object.' } },
    });
    expect(app.providerApi.countCalls()).toBe(0);
    expect((await app.api('/api/calls', { body: { ...place, requestId: rid() } })).status).toBe(
      202,
    );
  });

  it('answers 415, not 500, for a form body express.urlencoded() read', async () => {
    const app = await start({
      speed: 20,
      providerApi: { outcome: 'completed', talkDurationMs: 3_600_000 },
      bodyParsers: [express.urlencoded({ extended: false })],
    });
    const placeForm = `provider=retell&to=${encodeURIComponent(customer)}&requestId=${rid()}`;
    expect(await app.api('/api/calls', { body: placeForm, headers: form })).toMatchObject({
      status: 415,
      body: { error: { code: 'unsupported_media_type' } },
    });
    expect(app.providerApi.countCalls()).toBe(0);
    // JSON passes that parser by: placed as usual (Retell's webhooks are JSON, so they get
    // through too).
    const placed = await app.api('/api/calls', {
      body: { provider: 'retell', to: customer, requestId: rid() },
    });
    expect(placed.status).toBe(202);
    const { callId } = placed.body.call;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    const path = `/api/calls/${encodeURIComponent(callId)}/terminate`;
    expect(await app.api(path, { body: 'x=1', headers: form })).toMatchObject({
      status: 415,
      body: { error: { code: 'unsupported_media_type' } },
    });
    expect(app.providerApi.calls[0]!.terminated).toBe(false);
  });

  it('still refuses a provider webhook behind express.json(): a 500 that says why', async () => {
    const app = await start({ bodyParsers: [express.json()] });
    const text = JSON.stringify({
      event: 'call_started',
      call: {
        call_type: 'phone_call',
        call_id: 'call_parsed_1',
        agent_id: 'agent_1',
        call_status: 'ongoing',
        direction: 'outbound',
        from_number: '+14155550110',
        to_number: customer,
        metadata: { tenantId: 'demo' },
        start_timestamp: Date.now(),
      },
    });
    const response = await fetch(`${app.url}/webhooks/retell`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-retell-signature': signRetellWebhook({
          apiKey: demoCredentials.retellApiKey,
          body: text,
        }),
      },
      body: text,
    });
    expect(response.status).toBe(500);
    const { error } = await response.json();
    expect(error.message).toMatch(/raw bytes a webhook signature covers are gone/);
    expect(error.message).toMatch(/express\.raw/);
    expect(await app.tracker.getCall('demo', 'call_parsed_1')).toBeUndefined();
  });
});

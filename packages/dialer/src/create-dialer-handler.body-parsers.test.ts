import { createServer } from 'node:http';
import { toNodeHandler } from '@calltrack/core/node';
import { expressBehindParsers, serveForTest } from '@calltrack/test-utils';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { leadsBodyOfLength } from './__tests__/leads-body-of-length';
import { type DialerApp, demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { signTestJwt, verifyTestJwt } from './__tests__/test-jwt';
import { createDialerHandler } from './create-dialer-handler';

// The app mounts its body parsers before everything: the dialer's API checks no signature, so it
// answers behind them what it answers without them.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The dialer app; `serve` puts its API at /api of an Express app with `parsers` mounted first. */
async function startApi(maxLeadsPerRequest = 10) {
  const app: DialerApp = await startDialerApp({ providerApi: { outcome: 'busy' } });
  closers.push(() => app.close());
  const errors: unknown[] = [];
  const handler = createDialerHandler({
    dialer: app.dialer,
    store: app.store,
    basePath: '/api',
    maxLeadsPerRequest,
    authenticate: (request) =>
      verifyTestJwt(request.headers.get('authorization')?.replace(/^Bearer /, '')),
    onError: (error) => errors.push(error),
  });
  const token = await signTestJwt({ tenantId: demoTenant, userId: 'user-1' });
  /** Errors that reach Express are answered `{ error: { message, type } }` with their status. */
  const serve = async (parsers: express.RequestHandler[]) => {
    const expressApp = expressBehindParsers(parsers, (app) =>
      app.use('/api', toNodeHandler(handler)),
    );
    const served = await serveForTest(createServer(expressApp));
    closers.push(() => served.close());
    return async (path: string, init: { method?: string; body?: unknown; type?: string } = {}) => {
      const response = await fetch(`${served.url}/api${path}`, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          ...(init.body === undefined ? {} : { 'content-type': init.type ?? 'application/json' }),
        },
        ...(init.body === undefined
          ? {}
          : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON came back.
        body: (text === '' ? undefined : JSON.parse(text)) as any,
      };
    };
  };
  return { app, serve, errors };
}

const form = 'application/x-www-form-urlencoded';

describe('the dialer API behind express.json()', () => {
  it('adds leads, starts a run and reads it as it does without the parser', async () => {
    const { app, serve, errors } = await startApi();
    const api = await serve([express.json()]);
    const leads = [
      { leadId: 'twilio-1', phoneNumber: '+14155550123', timeZone: 'America/New_York' },
      { leadId: 'retell-2', phoneNumber: '+14155550124', timeZone: 'America/Chicago' },
    ];
    expect(await api('/dialer/leads', { method: 'POST', body: { leads } })).toEqual({
      status: 201,
      body: { added: 2, existing: 0 },
    });
    expect((await api('/dialer/leads', { method: 'POST', body: { leads } })).body).toEqual({
      added: 0,
      existing: 2,
    });
    // Bad input is still the route's 400 naming the lead and field, and JSON the parser cannot
    // read is the parser's 400.
    expect(
      await api('/dialer/leads', {
        method: 'POST',
        body: { leads: [{ leadId: 'a', phoneNumber: '+14155550125', userId: 'user-2' }] },
      }),
    ).toMatchObject({
      status: 400,
      body: { error: { message: 'Lead 0: userId is not a lead field.' } },
    });
    expect(await api('/dialer/leads', { method: 'POST', body: '{"leads": [' })).toMatchObject({
      status: 400,
      body: { error: { type: 'entity.parse.failed' } },
    });

    // A JSON body the parser read (the route reads none) starts a run as no body does.
    const triggered = await api('/dialer/runs', { method: 'POST', body: {} });
    expect(triggered).toMatchObject({
      status: 202,
      body: { outcome: 'started', runId: expect.any(String) },
    });
    await app.waitForLeads(demoTenant, ['retell-2', 'twilio-1'], (done) =>
      done.every((lead) => lead.callStatus === 'completed'),
    );
    expect(await api(`/dialer/runs/${triggered.body.runId}`)).toMatchObject({
      status: 200,
      body: { run: { state: 'finished', placed: 2 } },
    });
    expect((await api('/dialer/runs', { method: 'POST' })).status).toBe(202);
    expect((await api('/dialer/leads')).body.leads).toHaveLength(2);
    expect(app.providerApi.countCalls()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('answers a form body express.urlencoded() read with the 415 it gives without the parser', async () => {
    const { app, serve, errors } = await startApi();
    const plain = await serve([]);
    const parsed = await serve([express.urlencoded({ extended: false })]);
    const body = 'leads[0][leadId]=twilio-1&leads[0][phoneNumber]=%2B14155550123';
    const without = await plain('/dialer/leads', { method: 'POST', body, type: form });
    expect(without).toEqual({
      status: 415,
      body: { error: { code: 'unsupported_media_type', message: expect.any(String) } },
    });
    expect(await parsed('/dialer/leads', { method: 'POST', body, type: form })).toEqual(without);
    expect(await app.store.getLead(demoTenant, 'twilio-1')).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('holds a parsed body to its own limit, under the parser’s', async () => {
    const { app, serve, errors } = await startApi();
    const plain = await serve([]);
    const parsed = await serve([express.json({ limit: '1mb' })]);
    // 10 leads per request: a 64 KiB limit.
    const padded = {
      leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550123', timeZone: 'x'.repeat(70_000) }],
    };
    const without = await plain('/dialer/leads', { method: 'POST', body: padded });
    expect(without).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(await parsed('/dialer/leads', { method: 'POST', body: padded })).toEqual(without);

    const strict = await serve([express.json()]);
    const huge = { leads: [{ ...padded.leads[0], timeZone: 'x'.repeat(200 * 1024) }] };
    expect(await strict('/dialer/leads', { method: 'POST', body: huge })).toMatchObject({
      status: 413,
      body: { error: { type: 'entity.too.large' } },
    });
    expect(await app.store.getLead(demoTenant, 'twilio-1')).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('takes a body of exactly 512 bytes a lead, with the parser and without, and refuses a byte more with 413', async () => {
    const { app, serve, errors } = await startApi(200);
    const plain = await serve([]);
    const parsed = await serve([express.json({ limit: '1mb' })]);
    const limit = 200 * 512;
    for (const api of [plain, parsed]) {
      const over = await api('/dialer/leads', {
        method: 'POST',
        body: leadsBodyOfLength(limit + 1, 200),
      });
      expect(over).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
      expect(await app.store.getLead(demoTenant, 'lead-0-')).toBeUndefined();
    }
    const exact = leadsBodyOfLength(limit, 200);
    const first = (JSON.parse(exact) as { leads: { leadId: string }[] }).leads[0]!.leadId;
    expect(await plain('/dialer/leads', { method: 'POST', body: exact })).toEqual({
      status: 201,
      body: { added: 200, existing: 0 },
    });
    expect(await parsed('/dialer/leads', { method: 'POST', body: exact })).toEqual({
      status: 201,
      body: { added: 0, existing: 200 },
    });
    expect(await app.store.getLead(demoTenant, first)).toMatchObject({ leadId: first });
    expect(errors).toEqual([]);
  });
});

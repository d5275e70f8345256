import { BusUnavailableError } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  createCollectingSink,
  createFixtureLoader,
  listen,
  sendHeadersOnly,
} from '@calltrack/test-utils';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CallerDeskTenantContext,
  type CreateCallerDeskWebhookHandlerOptions,
  createCallerDeskWebhookHandler,
} from './create-callerdesk-webhook-handler';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

const token = 'cd_live_3f9a1c7e5b2d4086';
const now = Date.parse('2024-05-02T04:47:00.000Z');
const report = 'callerdesk-call-report-incoming-answered.json';

afterEach(closeServers);

/**
 * Behind `toNodeHandler`: `fast` mounts the handler itself (the bridge runs it straight on Node's
 * request), `fetch` hides it behind a plain fetch function (the bridge builds a `Request`, as for
 * Next.js and every other runtime).
 */
async function setup(
  options: Partial<CreateCallerDeskWebhookHandlerOptions> = {},
  mount: 'fast' | 'fetch' = 'fast',
) {
  const sink = createCollectingSink();
  const resolveTenant = vi.fn(
    async (_context: CallerDeskTenantContext) =>
      ({ tenantId: 'acme-in' }) as { tenantId: string } | null,
  );
  const handler = createCallerDeskWebhookHandler({
    token,
    sink,
    resolveTenant,
    clock: { now: () => now },
    ...options,
  });
  const base = await listen(
    toNodeHandler(mount === 'fast' ? handler : (request, context) => handler(request, context)),
  );
  return { sink, resolveTenant, base, url: `${base}/webhooks/callerdesk` };
}

/** The fixture's fields as strings, the way CallerDesk puts them in a query string or form. */
function fields(name = report): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(loadFixture(name).json)) params.set(key, String(value));
  return params;
}

function withToken(url: string, value = token): string {
  return `${url}?token=${encodeURIComponent(value)}`;
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(await response.json()).toMatchObject({ error: { code } });
}

describe('createCallerDeskWebhookHandler', () => {
  it('accepts a GET with the fields in the query string', async () => {
    const { sink, url, resolveTenant } = await setup();
    const response = await fetch(`${withToken(url)}&${fields()}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, published: 2, duplicates: 0 });
    expect(sink.events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
    expect(sink.events[0]).toMatchObject({
      tenantId: 'acme-in',
      callId: '1714625130.960123',
      status: 'completed',
      from: '+919876543210',
      to: '+918047112233',
      receivedAt: '2024-05-02T04:47:00.000Z',
    });
    expect(resolveTenant).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: 'report',
        callId: '1714625130.960123',
        direction: 'inbound',
        number: '+918047112233',
        callerNumber: '+919876543210',
        agentNumber: '+919812345678',
        accountId: '10234',
      }),
    );
  });

  it('accepts a POST form body', async () => {
    const { sink, url } = await setup();
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields().toString(),
    });
    expect(response.status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });

  it('accepts a POST JSON body', async () => {
    const { sink, url } = await setup();
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: loadFixture('callerdesk-call-report-outgoing-answered.json').text,
    });
    expect(response.status).toBe(200);
    expect(sink.events[0]).toMatchObject({
      direction: 'outbound',
      to: '+919876500011',
      data: { campaignId: '9995', durationMs: 96000 },
    });
  });

  it('keeps the digits of a numeric CallSid in a JSON body', async () => {
    const { sink, url } = await setup({ includeRaw: true });
    const text = loadFixture(report).text.replace('"1714625130.960123"', '1672649960.960');
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    expect(response.status).toBe(200);
    expect(sink.events[0]).toMatchObject({
      id: 'callerdesk:1672649960.960:ended',
      callId: '1672649960.960',
      raw: { CallSid: '1672649960.960' },
    });
  });

  it('accepts a POST multipart body', async () => {
    const { sink, url } = await setup();
    const form = new FormData();
    for (const [key, value] of fields('callerdesk-live-call-incoming-ringing.json'))
      form.set(key, value);
    const response = await fetch(withToken(url), { method: 'POST', body: form });
    expect(response.status).toBe(200);
    expect(sink.events.map((event) => event.type)).toEqual(['call.initiated', 'call.ringing']);
  });

  it('accepts a POST with the fields in the query string and an empty body', async () => {
    const { sink, url } = await setup();
    const response = await fetch(`${withToken(url)}&${fields()}`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });

  it('answers 200 to a duplicate and publishes it once', async () => {
    const { sink, url } = await setup();
    const target = `${withToken(url)}&${fields()}`;
    expect((await fetch(target)).status).toBe(200);
    const retry = await fetch(target);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true, published: 0, duplicates: 2 });
    expect(sink.events).toHaveLength(2);
  });

  it('keeps one call.initiated across the live payloads of a call', async () => {
    const { sink, url } = await setup();
    await fetch(`${withToken(url)}&${fields('callerdesk-live-call-incoming-ringing.json')}`);
    const answered = await fetch(
      `${withToken(url)}&${fields('callerdesk-live-call-incoming-answered.json')}`,
    );
    expect(await answered.json()).toEqual({ ok: true, published: 1, duplicates: 1 });
    await fetch(`${withToken(url)}&${fields()}`);
    expect(sink.events.map((event) => event.type)).toEqual([
      'call.initiated',
      'call.ringing',
      'call.answered',
      'call.ended',
      'call.recording',
    ]);
  });

  it('keeps the query token out of raw', async () => {
    const { sink, url } = await setup({ includeRaw: true });
    await fetch(`${withToken(url)}&${fields()}`);
    expect(sink.events[0]?.raw).toMatchObject({ CallSid: '1714625130.960123', Status: 'ANSWER' });
    expect(JSON.stringify(sink.events[0]?.raw)).not.toContain(token);
  });

  it('keeps the token out of raw where the payload echoes it: in a URL, a JSON string, nested objects and arrays, a field name', async () => {
    const { sink, url } = await setup({ includeRaw: true });
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(loadFixture('callerdesk-call-report-token-echoed.json').json),
    });
    expect(response.status).toBe(200);
    expect(sink.events.length).toBeGreaterThan(0);
    for (const event of sink.events) {
      expect(JSON.stringify(event)).not.toContain(token);
      expect(event.raw).toMatchObject({
        CallSid: '1714625130.960124',
        webhook_url: 'https://app.example.com/webhooks/callerdesk?token=[redacted]',
        custom_params: '{"token":"[redacted]","crm_lead":"L-881"}',
        integration: {
          name: 'crm',
          auth: { scheme: 'query' },
          headers: ['x-calltrack-token: [redacted]', 'accept: */*'],
        },
      });
      expect((event.raw as { integration: { auth: object } }).integration.auth).not.toHaveProperty(
        'token',
      );
    }
  });

  it('keeps a token out of raw also in its URL-encoded and JSON-escaped forms', async () => {
    const odd = 'Zm9v+YmFy/YmF6 "q"==';
    const { sink, url } = await setup({ token: odd, includeRaw: true });
    const body = {
      ...loadFixture(report).json,
      webhook_url: `https://app.example.com/hook?token=${encodeURIComponent(odd)}`,
      form_echo: new URLSearchParams({ token: odd }).toString(),
      custom_params: JSON.stringify({ token: odd }),
    };
    const response = await fetch(withToken(url, odd), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    for (const event of sink.events) {
      expect(event.raw).toMatchObject({
        webhook_url: 'https://app.example.com/hook?token=[redacted]',
        form_echo: 'token=[redacted]',
        custom_params: '{"token":"[redacted]"}',
      });
    }
  });

  it('keeps the token out of raw when a tokenLocation function reads the query', async () => {
    const { sink, url } = await setup({
      includeRaw: true,
      tokenLocation: (request) => new URL(request.url).searchParams.get('key'),
    });
    expect((await fetch(`${url}?key=${token}&${fields()}`)).status).toBe(200);
    // Posted, with the token in the form body too.
    const body = fields('callerdesk-live-call-incoming-ringing.json');
    body.set('key', token);
    const posted = await fetch(`${url}?key=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    expect(posted.status).toBe(200);
    expect(sink.events).toHaveLength(4);
    for (const event of sink.events) {
      expect(event.raw).toMatchObject({ Status: expect.any(String) });
      expect(event.raw).not.toHaveProperty('key');
      expect(JSON.stringify(event.raw)).not.toContain(token);
    }
  });

  it('publishes a payload over the raw limit, without raw', async () => {
    const { sink, url } = await setup({ includeRaw: true, maxBodyBytes: 4 * 1024 * 1024 });
    const body = fields();
    // Extra fields, each within the 64 KiB a field may take, together past raw's 2 MiB.
    for (let index = 0; index < 40; index += 1) body.set(`note${index}`, 'x'.repeat(60 * 1024));
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    expect(response.status).toBe(200);
    expect(sink.events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
    for (const event of sink.events) {
      expect(event).not.toHaveProperty('raw');
      expect(event.data.rawOmitted).toBe('length');
    }
    expect(sink.events[0]).toMatchObject({ status: 'completed', data: { durationMs: 48000 } });
  });

  it('reads the token from a header, the path or a function', async () => {
    const header = await setup({ tokenLocation: 'header' });
    const byHeader = await fetch(`${header.url}?${fields()}`, {
      headers: { 'x-calltrack-token': token },
    });
    expect(byHeader.status).toBe(200);
    const named = await setup({ tokenLocation: 'header', tokenName: 'x-webhook-secret' });
    expect(
      (await fetch(`${named.url}?${fields()}`, { headers: { 'x-webhook-secret': token } })).status,
    ).toBe(200);
    const path = await setup({ tokenLocation: 'path' });
    expect((await fetch(`${path.url}/${token}?${fields()}`)).status).toBe(200);
    await expectError(
      await fetch(`${path.url}/wrong-token-000000?${fields()}`),
      403,
      'invalid_signature',
    );
    const custom = await setup({
      tokenLocation: (request) => request.headers.get('authorization')?.replace(/^Bearer /, ''),
    });
    expect(
      (await fetch(`${custom.url}?${fields()}`, { headers: { authorization: `Bearer ${token}` } }))
        .status,
    ).toBe(200);
    const query = await setup({ tokenName: 'key' });
    expect((await fetch(`${query.url}?key=${token}&${fields()}`)).status).toBe(200);
  });

  it('accepts any token of a rotation', async () => {
    const { url } = await setup({ token: ['cd_old_token_1234567890', token] });
    expect((await fetch(`${withToken(url)}&${fields()}`)).status).toBe(200);
    expect((await fetch(`${withToken(url, 'cd_old_token_1234567890')}&${fields()}`)).status).toBe(
      200,
    );
  });

  describe('refuses, publishing nothing', () => {
    it('405 for another method', async () => {
      const { sink, url } = await setup();
      for (const method of ['PUT', 'DELETE', 'PATCH']) {
        const response = await fetch(`${withToken(url)}&${fields()}`, { method });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, POST');
        await response.body?.cancel();
      }
      expect(sink.events).toEqual([]);
    });

    it('415 for a body that is neither form nor JSON', async () => {
      const { sink, url } = await setup();
      for (const contentType of ['text/plain', 'application/xml']) {
        const response = await fetch(withToken(url), {
          method: 'POST',
          headers: { 'content-type': contentType },
          body: fields().toString(),
        });
        await expectError(response, 415, 'unsupported_media_type');
      }
      expect(sink.events).toEqual([]);
    });

    it('401 without a token', async () => {
      const { sink, url, resolveTenant } = await setup();
      await expectError(await fetch(`${url}?${fields()}`), 401, 'missing_signature');
      await expectError(await fetch(`${url}?token=&${fields()}`), 401, 'missing_signature');
      expect(sink.events).toEqual([]);
      expect(resolveTenant).not.toHaveBeenCalled();
    });

    it('403 for a wrong token', async () => {
      const { sink, url, resolveTenant } = await setup();
      await expectError(
        await fetch(`${withToken(url, `${token}x`)}&${fields()}`),
        403,
        'invalid_signature',
      );
      const post = await fetch(withToken(url, token.toUpperCase()), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: loadFixture(report).text,
      });
      await expectError(post, 403, 'invalid_signature');
      expect(sink.events).toEqual([]);
      expect(resolveTenant).not.toHaveBeenCalled();
    });

    it('400 for a malformed body or a missing field', async () => {
      const { sink, url } = await setup();
      const broken = await fetch(withToken(url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"CallSid":',
      });
      await expectError(broken, 400, 'invalid_payload');
      const list = await fetch(withToken(url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[1,2]',
      });
      await expectError(list, 400, 'invalid_payload');
      const query = fields();
      query.delete('CallSid');
      const missing = await fetch(`${withToken(url)}&${query}`);
      expect(missing.status).toBe(400);
      expect((await missing.json()).error.message).toContain('"CallSid" is required');
      const badTime = fields();
      badTime.set('StartTime', '02/05/2024');
      await expectError(await fetch(`${withToken(url)}&${badTime}`), 400, 'invalid_payload');
      const longCallId = fields();
      longCallId.set('CallSid', 'c'.repeat(129));
      const long = await fetch(`${withToken(url)}&${longCallId}`);
      expect(long.status).toBe(400);
      expect((await long.json()).error.message).toContain(
        '"CallSid" is longer than 128 characters',
      );
      // A GET without fields (a browser, or a connectivity check) is a 400 too.
      await expectError(await fetch(withToken(url)), 400, 'invalid_payload');
      expect(sink.events).toEqual([]);
    });

    it('413 above the body limit', async () => {
      const { sink, url } = await setup({ maxBodyBytes: 256 });
      const response = await fetch(withToken(url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: loadFixture(report).text,
      });
      await expectError(response, 413, 'payload_too_large');
      expect(sink.events).toEqual([]);
    });

    it('413 for the default limit of 64 KiB', async () => {
      const { sink, url } = await setup();
      const body = new URLSearchParams(fields());
      body.set('padding', 'x'.repeat(64 * 1024));
      const response = await fetch(withToken(url), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      });
      await expectError(response, 413, 'payload_too_large');
      expect(sink.events).toEqual([]);
    });

    it('422 when no tenant matches', async () => {
      const { sink, url, resolveTenant } = await setup();
      resolveTenant.mockResolvedValue(null);
      await expectError(await fetch(`${withToken(url)}&${fields()}`), 422, 'unknown_tenant');
      expect(sink.events).toEqual([]);
    });

    it('403 when the client address is not allowed', async () => {
      const { sink, url } = await setup({ allowIp: ['203.0.113.7'] });
      await expectError(await fetch(`${withToken(url)}&${fields()}`), 403, 'address_not_allowed');
      expect(sink.events).toEqual([]);
    });
  });

  it('accepts an allowed client address', async () => {
    const { url } = await setup({ allowIp: ['127.0.0.1'] });
    expect((await fetch(`${withToken(url)}&${fields()}`)).status).toBe(200);
  });

  it("behind a proxy (trustProxy), allows by the proxy's X-Forwarded-For, not a Forwarded header the client adds", async () => {
    const sink = createCollectingSink();
    const handler = createCallerDeskWebhookHandler({
      token,
      sink,
      resolveTenant: () => ({ tenantId: 'acme-in' }),
      allowIp: ['10.9.9.9'],
      clock: { now: () => now },
    });
    const url = `${await listen(toNodeHandler(handler, { trustProxy: true }))}/webhooks/callerdesk`;
    // nginx or an ALB appends the client's address to X-Forwarded-For and passes Forwarded on.
    const proxied = { 'x-forwarded-for': '203.0.113.5' };
    await expectError(
      await fetch(`${withToken(url)}&${fields()}`, { headers: proxied }),
      403,
      'address_not_allowed',
    );
    await expectError(
      await fetch(`${withToken(url)}&${fields()}`, {
        headers: { ...proxied, forwarded: 'for=10.9.9.9' },
      }),
      403,
      'address_not_allowed',
    );
    expect(sink.events).toEqual([]);
    const allowed = { 'x-forwarded-for': '198.51.100.1, 10.9.9.9' };
    expect((await fetch(`${withToken(url)}&${fields()}`, { headers: allowed })).status).toBe(200);
  });

  it('uses the configured kind', async () => {
    const { sink, url } = await setup({ kind: 'report' });
    await fetch(`${withToken(url)}&${fields('callerdesk-live-call-incoming-answered.json')}`);
    expect(sink.events.map((event) => event.type)).toEqual(['call.ended']);
  });

  it('answers 5xx when the sink fails, and publishes on the retry', async () => {
    const onError = vi.fn();
    const { sink, url } = await setup({ onError });
    const target = `${withToken(url)}&${fields()}`;
    sink.failWith = new TypeError('cannot read properties of undefined');
    await expectError(await fetch(target), 500, 'publish_failed');
    sink.failWith = new BusUnavailableError({ message: 'Redis unreachable' });
    await expectError(await fetch(target), 503, 'bus_unavailable');
    expect(onError).toHaveBeenCalledTimes(2);
    expect(sink.events).toEqual([]);
    sink.failWith = undefined;
    expect((await fetch(target)).status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });

  it('answers 500 when resolveTenant throws or returns an invalid tenant', async () => {
    const { sink, url, resolveTenant } = await setup();
    resolveTenant.mockRejectedValueOnce(new Error('database down'));
    await expectError(await fetch(`${withToken(url)}&${fields()}`), 500, 'internal_error');
    resolveTenant.mockResolvedValueOnce({ tenantId: '' });
    await expectError(await fetch(`${withToken(url)}&${fields()}`), 500, 'invalid_tenant');
    expect(sink.events).toEqual([]);
  });

  describe('with a per-tenant token lookup', () => {
    const tokens: Record<string, string> = {
      acme: 'cd_acme_0123456789abcdef',
      globex: 'cd_globex_fedcba9876543210',
    };
    const byNumber: Record<string, string> = { '+918047112233': 'acme', '+918047000000': 'globex' };

    async function setupLookup(options: Partial<CreateCallerDeskWebhookHandlerOptions> = {}) {
      const lookup = vi.fn(
        async ({ tenant }: { tenant: { tenantId: string } }) => tokens[tenant.tenantId],
      );
      const result = await setup({
        ...options,
        token: lookup,
        resolveTenant: async ({ number }) =>
          number !== undefined && byNumber[number] ? { tenantId: byNumber[number] } : null,
      });
      return { ...result, lookup };
    }

    it("compares with the resolved tenant's token", async () => {
      const { sink, url, lookup } = await setupLookup();
      expect((await fetch(`${withToken(url, tokens.acme)}&${fields()}`)).status).toBe(200);
      expect(lookup).toHaveBeenCalledWith(
        expect.objectContaining({ tenant: { tenantId: 'acme' }, number: '+918047112233' }),
      );
      expect(sink.events).toHaveLength(2);
    });

    it("refuses another tenant's token and a tenant without one", async () => {
      const { sink, url, lookup } = await setupLookup();
      await expectError(
        await fetch(`${withToken(url, tokens.globex)}&${fields()}`),
        403,
        'invalid_signature',
      );
      lookup.mockResolvedValueOnce(undefined);
      await expectError(
        await fetch(`${withToken(url, tokens.acme)}&${fields()}`),
        403,
        'invalid_signature',
      );
      await expectError(await fetch(`${url}?${fields()}`), 401, 'missing_signature');
      expect(sink.events).toEqual([]);
    });

    it('never accepts a looked-up token shorter than 16 characters, as a static one is refused at creation', async () => {
      const errors: unknown[] = [];
      const { sink, url, lookup } = await setupLookup({ onError: (error) => errors.push(error) });
      const short = '~';
      const tooShort = expect.objectContaining({
        code: 'invalid_signature',
        cause: expect.objectContaining({
          message: expect.stringMatching(
            /^The token lookup returned a token shorter than 16 characters for tenant acme: it is never accepted/,
          ),
        }),
      });
      for (const found of [short, 'fifteen-chars!!', [short], [short, '']]) {
        lookup.mockResolvedValueOnce(found as never);
        const sent = typeof found === 'string' ? found : short;
        await expectError(
          await fetch(`${withToken(url, sent)}&${fields()}`),
          403,
          'invalid_signature',
        );
        expect(errors.at(-1)).toEqual(tooShort);
      }
      // During a rotation to a long token, only the long one is accepted, and the operator hears
      // of the short one when a webhook carries it.
      lookup.mockResolvedValueOnce([short, tokens.acme!] as never);
      await expectError(
        await fetch(`${withToken(url, short)}&${fields()}`),
        403,
        'invalid_signature',
      );
      expect(errors.at(-1)).toEqual(tooShort);
      expect(sink.events).toEqual([]);
      lookup.mockResolvedValueOnce([short, tokens.acme!] as never);
      expect((await fetch(`${withToken(url, tokens.acme)}&${fields()}`)).status).toBe(200);
    });

    it('answers an unknown number as it answers a wrong token', async () => {
      // Unauthenticated callers must not learn which numbers belong to tenants.
      const errors: unknown[] = [];
      const { sink, url, lookup } = await setupLookup({ onError: (error) => errors.push(error) });
      const wrong = withToken(url, 'cd_forged_0123456789');
      const knownNumber = await fetch(`${wrong}&${fields()}`);
      const unknown = fields();
      unknown.set('DestinationNumber', '08099990000');
      const unknownNumber = await fetch(`${wrong}&${unknown}`);
      const answers = [];
      for (const response of [knownNumber, unknownNumber]) {
        answers.push({ status: response.status, body: await response.json() });
      }
      expect(answers[0]).toMatchObject({
        status: 403,
        body: { error: { code: 'invalid_signature' } },
      });
      expect(answers[1]).toEqual(answers[0]);
      // Also with a token of some tenant: the number is unknown all the same.
      await expectError(
        await fetch(`${withToken(url, tokens.acme)}&${unknown}`),
        403,
        'invalid_signature',
      );
      expect(lookup).toHaveBeenCalledTimes(1);
      // The app's logs get the real reason.
      expect(errors[1]).toMatchObject({
        code: 'invalid_signature',
        cause: expect.objectContaining({ code: 'unknown_tenant', status: 422 }),
      });
      expect(sink.events).toEqual([]);
    });
  });

  it('refuses weak or missing options when created', () => {
    const sink = createCollectingSink();
    const resolveTenant = async () => ({ tenantId: 'a' });
    for (const options of [
      { token: 'short', sink, resolveTenant },
      { token: [], sink, resolveTenant },
      { token: [token, 'short'], sink, resolveTenant },
      { token, sink: {}, resolveTenant },
      { token, sink, resolveTenant: undefined },
      // A misspelled kind made every live webhook a call report (a ringing call ended as
      // no-answer); a misspelled location read the token from the path (every webhook a 403).
      { token, sink, resolveTenant, kind: 'Live' },
      { token, sink, resolveTenant, tokenLocation: 'Header' },
      { token, sink, resolveTenant, tokenLocation: 'body' },
      { token, sink, resolveTenant, tokenName: '' },
      { token, sink, resolveTenant, clock: Date.now },
    ]) {
      expect(() => createCallerDeskWebhookHandler(options as never)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
  });

  describe('ambiguous tokens', () => {
    it('answers 400 for ?token=GOOD&token=wrong, and accepts the same token twice', async () => {
      const { sink, url } = await setup();
      const ambiguous = await fetch(`${withToken(url)}&token=wrong-token-0000000&${fields()}`);
      await expectError(ambiguous, 400, 'ambiguous_credentials');
      const reversed = await fetch(`${url}?token=wrong-token-0000000&token=${token}&${fields()}`);
      await expectError(reversed, 400, 'ambiguous_credentials');
      expect(sink.events).toEqual([]);
      expect((await fetch(`${withToken(url)}&token=${token}&${fields()}`)).status).toBe(200);
    });

    it('answers 400 for a token header sent twice with different values', async () => {
      const { sink, url } = await setup({ tokenLocation: 'header' });
      const headers = new Headers();
      headers.append('x-calltrack-token', token);
      headers.append('x-calltrack-token', 'wrong-token-0000000');
      await expectError(
        await fetch(`${url}?${fields()}`, { headers }),
        400,
        'ambiguous_credentials',
      );
      expect(sink.events).toEqual([]);
      expect(() =>
        createCallerDeskWebhookHandler({
          token: 'with,a-comma-0000000',
          tokenLocation: 'header',
          sink,
          resolveTenant: () => ({ tenantId: 'a' }),
        }),
      ).toThrow(/cannot contain a comma/);
    });
  });

  it('takes a token lookup whose source holds a comma with tokenLocation header (only a static token is checked for one)', async () => {
    const sink = createCollectingSink();
    const tokens = new Map([['acme-in', token]]);
    const handler = createCallerDeskWebhookHandler({
      token: ({ tenant }) => tokens.get(tenant.tenantId) ?? [token, token],
      tokenLocation: 'header',
      sink,
      resolveTenant: () => ({ tenantId: 'acme-in' }),
      clock: { now: () => now },
    });
    const url = `${await listen(toNodeHandler(handler))}/webhooks/callerdesk`;
    const sent = await fetch(`${url}?${fields()}`, { headers: { 'x-calltrack-token': token } });
    expect(sent.status).toBe(200);
    expect(sink.events).toHaveLength(2);
    // A looked-up header token with a comma can never match (a header arrives split at commas,
    // so sending it is ambiguous, 400): it is left out, and onError is told why.
    const errors: unknown[] = [];
    const comma = 'with,a-comma-0000000';
    const commaHandler = createCallerDeskWebhookHandler({
      token: () => comma,
      tokenLocation: 'header',
      sink,
      resolveTenant: () => ({ tenantId: 'acme-in' }),
      onError: (error) => errors.push(error),
    });
    const commaUrl = `${await listen(toNodeHandler(commaHandler))}/webhooks/callerdesk`;
    await expectError(
      await fetch(`${commaUrl}?${fields()}`, { headers: { 'x-calltrack-token': comma } }),
      400,
      'ambiguous_credentials',
    );
    errors.length = 0;
    await expectError(
      await fetch(`${commaUrl}?${fields()}`, { headers: { 'x-calltrack-token': token } }),
      403,
      'invalid_signature',
    );
    expect(errors).toEqual([
      expect.objectContaining({
        cause: expect.objectContaining({
          message: expect.stringMatching(
            /^The token lookup returned a token with a comma for tenant acme-in, sent in a header/,
          ),
        }),
      }),
    ]);
  });

  it('refuses a JSON field nested 20,000 levels deep with a 400 naming it, publishing nothing', async () => {
    const { sink, url, resolveTenant } = await setup({ maxBodyBytes: 256 * 1024 });
    const depth = 20_000;
    const body = JSON.stringify(loadFixture(report).json).replace(
      /}$/,
      `,"extra":${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}}`,
    );
    const response = await fetch(withToken(url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'invalid_payload',
        message: 'Invalid CallerDesk webhook: "extra" is nested deeper than 8 levels.',
      },
    });
    expect(sink.events).toEqual([]);
    expect(resolveTenant).not.toHaveBeenCalled();
  });

  describe('refuses from the URL and headers alone, while the client holds the body back', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    it.each([
      [
        '405 for PUT',
        (url: string) => withToken(url),
        { method: 'PUT', headers: form },
        405,
        'method_not_allowed',
      ],
      [
        '415 for text',
        (url: string) => withToken(url),
        { headers: { 'content-type': 'text/plain' } },
        415,
        'unsupported_media_type',
      ],
      ['401 without a token', (url: string) => url, { headers: form }, 401, 'missing_signature'],
      [
        '400 for two different tokens',
        (url: string) => `${withToken(url)}&token=wrong-token-0000000`,
        { headers: form },
        400,
        'ambiguous_credentials',
      ],
      [
        '403 for a wrong token',
        (url: string) => withToken(url, 'wrong-token-0000000'),
        { headers: form },
        403,
        'invalid_signature',
      ],
      [
        '413 for a declared length over the limit',
        (url: string) => withToken(url),
        { headers: form, declaredBytes: 65 * 1024 },
        413,
        'payload_too_large',
      ],
    ])('%s', async (_case, target, request, status, code) => {
      const { sink, url } = await setup();
      const answer = await sendHeadersOnly(target(url), request);
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
      expect(sink.events).toEqual([]);
    });

    it('429 once the client address spent its budget', async () => {
      const { url } = await setup({
        rateLimit: { perClientAddress: new RateLimiterMemory({ points: 1, duration: 60 }) },
      });
      expect((await fetch(`${withToken(url)}&${fields()}`)).status).toBe(200);
      const answer = await sendHeadersOnly(withToken(url), { headers: form });
      expect(answer.status).toBe(429);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  it('limits per tenant once the token is checked', async () => {
    const perTenant = new RateLimiterMemory({ points: 1, duration: 60 });
    const { sink, url } = await setup({ rateLimit: { perTenant } });
    await expectError(
      await fetch(`${withToken(url, 'wrong-token-0000000')}&${fields()}`),
      403,
      'invalid_signature',
    );
    expect((await fetch(`${withToken(url)}&${fields()}`)).status).toBe(200);
    const live = fields('callerdesk-live-call-incoming-ringing.json');
    await expectError(await fetch(`${withToken(url)}&${live}`), 429, 'rate_limited');
    expect(sink.events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
  });
});

describe('createCallerDeskWebhookHandler: the fetch handler and the Node fast path answer alike', () => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const json = { 'content-type': 'application/json' };
  const multipart = () => {
    const body = new FormData();
    for (const [key, value] of fields('callerdesk-live-call-incoming-ringing.json'))
      body.set(key, value);
    return body;
  };
  type Case = [
    string,
    number,
    Partial<CreateCallerDeskWebhookHandlerOptions>,
    (url: string) => [string, RequestInit],
  ];
  const cases: Case[] = [
    ['a GET with the fields in the query', 200, {}, (url) => [`${withToken(url)}&${fields()}`, {}]],
    [
      'a POST form',
      200,
      {},
      (url) => [withToken(url), { method: 'POST', headers: form, body: `${fields()}` }],
    ],
    [
      'a POST JSON body',
      200,
      {},
      (url) => [withToken(url), { method: 'POST', headers: json, body: loadFixture(report).text }],
    ],
    [
      'a POST multipart body',
      200,
      {},
      (url) => [withToken(url), { method: 'POST', body: multipart() }],
    ],
    [
      'the token in a header named in capitals',
      200,
      { tokenLocation: 'header', tokenName: 'X-Hook-Token' },
      (url) => [`${url}?${fields()}`, { headers: { 'x-hook-token': token } }],
    ],
    [
      'the token read by a function from the Request',
      200,
      {
        tokenLocation: (request) => request.headers.get('authorization')?.replace(/^Bearer /, ''),
      },
      (url) => [
        url,
        {
          method: 'POST',
          headers: { ...form, authorization: `Bearer ${token}` },
          body: `${fields()}`,
        },
      ],
    ],
    ['no token', 401, {}, (url) => [`${url}?${fields()}`, {}]],
    [
      'a wrong token',
      403,
      {},
      (url) => [`${withToken(url, 'wrong-token-0000000')}&${fields()}`, {}],
    ],
    [
      'two different tokens',
      400,
      {},
      (url) => [`${withToken(url)}&token=wrong-token-0000000&${fields()}`, {}],
    ],
    [
      'a wrong content type',
      415,
      {},
      (url) => [
        withToken(url),
        { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' },
      ],
    ],
    [
      'a body over the limit',
      413,
      {},
      (url) => [
        withToken(url),
        { method: 'POST', headers: form, body: `${fields()}&pad=${'x'.repeat(70_000)}` },
      ],
    ],
    [
      'a body that is not JSON',
      400,
      {},
      (url) => [withToken(url), { method: 'POST', headers: json, body: '{"CallSid":' }],
    ],
    ['a PUT', 405, {}, (url) => [withToken(url), { method: 'PUT', headers: form, body: '' }]],
    [
      'an unknown tenant',
      422,
      { resolveTenant: () => null },
      (url) => [`${withToken(url)}&${fields()}`, {}],
    ],
  ];
  it.each(cases)('%s: %i', async (_case, status, options, request) => {
    const answers = [];
    const published = [];
    const reported = [];
    for (const mount of ['fast', 'fetch'] as const) {
      const errors: unknown[] = [];
      const { sink, url } = await setup(
        { ...options, onError: (error) => errors.push(error) },
        mount,
      );
      const response = await fetch(...request(url));
      answers.push({
        status: response.status,
        type: response.headers.get('content-type'),
        allow: response.headers.get('allow'),
        body: await response.json(),
      });
      published.push(sink.events);
      reported.push(errors.map(String));
    }
    expect(answers[0]!.status).toBe(status);
    expect(answers[0]).toEqual(answers[1]);
    expect(published[0]).toEqual(published[1]);
    expect(reported[0]).toEqual(reported[1]);
  });

  it('hands the app callbacks a Request whose body was read, on both paths', async () => {
    for (const mount of ['fast', 'fetch'] as const) {
      const seen: { bodyUsed: boolean; url: string }[] = [];
      const { url } = await setup(
        {
          token: ({ request }) => {
            seen.push({ bodyUsed: request.bodyUsed, url: request.url });
            return token;
          },
          resolveTenant: ({ request }) => {
            seen.push({ bodyUsed: request.bodyUsed, url: request.url });
            return { tenantId: 'acme-in' };
          },
        },
        mount,
      );
      const target = withToken(url);
      const response = await fetch(target, { method: 'POST', headers: form, body: `${fields()}` });
      expect(response.status).toBe(200);
      expect(seen).toEqual([
        { bodyUsed: true, url: target },
        { bodyUsed: true, url: target },
      ]);
    }
  });
});

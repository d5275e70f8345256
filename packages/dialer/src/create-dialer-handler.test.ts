import { createServer } from 'node:http';
import { toNodeHandler } from '@calltrack/core/node';
import type { ProviderApiFaultRule } from '@calltrack/simulator';
import { serveForTest } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type DialerApp, demoTenant, startDialerApp } from './__tests__/start-dialer-app';
import { signTestJwt, verifyTestJwt } from './__tests__/test-jwt';
import { type CreateDialerHandlerOptions, createDialerHandler } from './create-dialer-handler';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function startApi(
  extra: Partial<CreateDialerHandlerOptions> = {},
  providerApi: { fault?: ProviderApiFaultRule } = {},
) {
  const app: DialerApp = await startDialerApp({ providerApi: { outcome: 'busy', ...providerApi } });
  closers.push(() => app.close());
  const errors: unknown[] = [];
  const handler = createDialerHandler({
    dialer: app.dialer,
    store: app.store,
    basePath: '/api',
    authenticate: (request) =>
      verifyTestJwt(request.headers.get('authorization')?.replace(/^Bearer /, '')),
    onError: (error) => errors.push(error),
    ...extra,
  });
  const served = await serveForTest(createServer(toNodeHandler(handler)));
  closers.push(() => served.close());
  const tokens = {
    user1: await signTestJwt({ tenantId: demoTenant, userId: 'user-1' }),
    user2: await signTestJwt({ tenantId: demoTenant, userId: 'user-2' }),
    otherTenant: await signTestJwt({ tenantId: 'other', userId: 'user-1' }),
    noUser: await signTestJwt({ tenantId: demoTenant }),
  };
  const api = async (
    path: string,
    init: {
      method?: string;
      body?: unknown;
      token?: string | null;
      type?: string;
      origin?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const token = init.token === undefined ? tokens.user1 : init.token;
    const response = await fetch(`${served.url}/api${path}`, {
      method: init.method ?? 'GET',
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(init.origin === undefined ? {} : { origin: init.origin }),
        ...init.headers,
        ...(init.body === undefined ? {} : { 'content-type': init.type ?? 'application/json' }),
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      // biome-ignore lint/suspicious/noExplicitAny: the tests read whatever JSON came back.
      body: (text === '' ? undefined : JSON.parse(text)) as any,
    };
  };
  return { app, api, tokens, errors };
}

describe('createDialerHandler: the dialer over HTTP (for SSE and tRPC apps)', () => {
  it('adds the user’s leads, triggers a run, reads the run and lists the leads with their status', async () => {
    const { app, api, errors } = await startApi();
    const added = await api('/dialer/leads', {
      method: 'POST',
      body: {
        leads: [
          { leadId: 'twilio-1', phoneNumber: '+14155550123', timeZone: 'America/New_York' },
          { leadId: 'retell-2', phoneNumber: '+14155550124', timeZone: 'America/Chicago' },
          { leadId: 'twilio-3', phoneNumber: '+14155550125' },
        ],
      },
    });
    expect(added).toMatchObject({ status: 201, body: { added: 3, existing: 0 } });
    // Loading the list again adds nothing and resets nothing.
    expect(
      (
        await api('/dialer/leads', {
          method: 'POST',
          body: { leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550999' }] },
        })
      ).body,
    ).toEqual({ added: 0, existing: 1 });

    const triggered = await api('/dialer/runs', { method: 'POST' });
    expect(triggered).toMatchObject({
      status: 202,
      body: { outcome: 'started', runId: expect.any(String) },
    });
    const { runId } = triggered.body;
    await app.waitForLeads(demoTenant, ['retell-2', 'twilio-1'], (leads) =>
      leads.every((lead) => lead.callStatus === 'completed'),
    );
    const run = await api(`/dialer/runs/${runId}`);
    expect(run).toMatchObject({
      status: 200,
      body: {
        run: {
          runId,
          tenantId: demoTenant,
          userId: 'user-1',
          cause: 'trigger',
          state: 'finished',
          placed: 2,
          skipped: 1,
          refused: 0,
          unknown: 0,
        },
      },
    });
    expect(run.headers.get('cache-control')).toBe('no-store');

    const first = await api('/dialer/leads?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.leads.map((lead: { leadId: string }) => lead.leadId)).toEqual([
      'retell-2',
      'twilio-1',
    ]);
    expect(first.body.leads[1]).toMatchObject({
      leadId: 'twilio-1',
      userId: 'user-1',
      phoneNumber: '+14155550123',
      callStatus: 'completed',
      callOutcome: 'busy',
      hasBeenCalled: true,
      provider: 'twilio',
      lastAttemptAt: '2026-03-02T15:00:00.000Z',
    });
    expect(first.body.leads[1]).not.toHaveProperty('fence');
    const second = await api(`/dialer/leads?limit=2&after=${first.body.nextAfter}`);
    expect(second.body).toEqual({
      leads: [
        expect.objectContaining({
          leadId: 'twilio-3',
          callStatus: 'pending',
          hasBeenCalled: false,
          skipReason: 'missing_time_zone',
          skippedAt: '2026-03-02T15:00:00.000Z',
        }),
      ],
      nextAfter: null,
    });
    expect((await api('/dialer/leads/twilio-1')).body.lead).toMatchObject({ callOutcome: 'busy' });
    expect(app.providerApi.countCalls()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('answers a second trigger during a run with a follow-up, not a parallel run', async () => {
    // The provider answers the run's call only once both triggers are answered: the second one
    // comes during the run however fast the machine places the call.
    let answerCalls!: () => void;
    const bothAnswered = new Promise<void>((resolve) => {
      answerCalls = resolve;
    });
    const { app, api } = await startApi(
      {},
      { fault: () => ({ type: 'hold', until: bothAnswered }) },
    );
    await app.store.addLeads([
      {
        tenantId: demoTenant,
        leadId: 'twilio-1',
        userId: 'user-1',
        phoneNumber: '+14155550123',
        timeZone: 'America/New_York',
      },
    ]);
    const [one, two] = await Promise.all([
      api('/dialer/runs', { method: 'POST' }),
      api('/dialer/runs', { method: 'POST' }),
    ]);
    answerCalls();
    expect([one.body.outcome, two.body.outcome].sort()).toEqual(['follow_up_scheduled', 'started']);
    await app.waitForLeads(demoTenant, ['twilio-1'], ([lead]) => lead?.callStatus === 'completed');
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('refuses a run started by a form (any content type but JSON) with 415, starting nothing', async () => {
    // A cross-site HTML form can post urlencoded, multipart or text/plain with the user's
    // cookies; none of them reaches the dialer.
    const { app, api } = await startApi();
    await api('/dialer/leads', {
      method: 'POST',
      body: {
        leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550123', timeZone: 'America/New_York' }],
      },
    });
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'text/plain',
    ]) {
      const refused = await api('/dialer/runs', { method: 'POST', body: '', type });
      expect([refused.status, refused.body?.error?.code]).toEqual([415, 'unsupported_media_type']);
    }
    const json = await api('/dialer/runs', { method: 'POST', body: {} });
    expect(json).toMatchObject({ status: 202, body: { outcome: 'started' } });
    await app.waitForLeads(demoTenant, ['twilio-1'], ([lead]) => lead?.callStatus === 'completed');
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('refuses a run whose body names anything (a userId, a tenantId) with 400, starting nothing: the tenant and the user come from the credentials', async () => {
    // A manager's page that posts { userId } to start a rep's run started the manager's own, and
    // dialled the manager's leads: the body was never read.
    const { app, api } = await startApi();
    await api('/dialer/leads', {
      method: 'POST',
      body: {
        leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550123', timeZone: 'America/New_York' }],
      },
    });
    const cases: [unknown, string][] = [
      [{ userId: 'user-2' }, '"userId" is not a field of POST /dialer/runs'],
      [{ tenantId: 'other' }, '"tenantId" is not a field of POST /dialer/runs'],
      ['{"leads":[]}', '"leads" is not a field of POST /dialer/runs'],
      [[], 'POST /dialer/runs takes no body, or {}.'],
      ['null', 'POST /dialer/runs takes no body, or {}.'],
      ['{', 'The body is not valid JSON.'],
    ];
    for (const [body, message] of cases) {
      const refused = await api('/dialer/runs', { method: 'POST', body });
      expect([refused.status, refused.body?.error?.code], JSON.stringify(body)).toEqual([
        400,
        'invalid_payload',
      ]);
      expect(refused.body.error.message, JSON.stringify(body)).toContain(message);
    }
    // Refused from its declared length, before a byte of it is read.
    const declared = await api('/dialer/runs', {
      method: 'POST',
      body: `{${' '.repeat(2_000)}}`,
    });
    expect(declared).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(app.events.filter((event) => event.type === 'dialer.run_started')).toEqual([]);
    expect(app.providerApi.countCalls()).toBe(0);
    expect(await app.store.getLead(demoTenant, 'twilio-1')).toMatchObject({
      callStatus: 'pending',
      hasBeenCalled: false,
    });
    // No body, an empty one, or {}: the run starts (the lead is called once).
    expect(await api('/dialer/runs', { method: 'POST', body: ' {} ' })).toMatchObject({
      status: 202,
      body: { outcome: 'started' },
    });
    await app.waitForLeads(demoTenant, ['twilio-1'], ([lead]) => lead?.callStatus === 'completed');
    for (const body of [undefined, '']) {
      expect(await api('/dialer/runs', { method: 'POST', body })).toMatchObject({ status: 202 });
    }
    expect(app.providerApi.countCalls()).toBe(1);
  });

  it('refuses a write without Origin whose Sec-Fetch-Site is same-site or cross-site with 403, as every transport does', async () => {
    const { api, app } = await startApi({ allowedOrigins: ['https://app.example'] });
    for (const site of ['same-site', 'cross-site']) {
      const headers = { 'sec-fetch-site': site };
      const run = await api('/dialer/runs', { method: 'POST', headers });
      expect(run.status).toBe(403);
      expect(run.body.error).toEqual({
        code: 'origin_not_allowed',
        message: `A ${site} page of another origin may not write here.`,
      });
      const leads = await api('/dialer/leads', {
        method: 'POST',
        headers,
        body: { leads: [{ leadId: 'x', phoneNumber: '+14155550100' }] },
      });
      expect(leads.status).toBe(403);
    }
    expect(await app.store.getLead(demoTenant, 'x')).toBeUndefined();
    // Your own page, a typed URL, and no browser go on; reads are not checked.
    expect(
      (await api('/dialer/leads', { headers: { 'sec-fetch-site': 'same-site' } })).status,
    ).toBe(200);
    for (const site of ['same-origin', 'none']) {
      const added = await api('/dialer/leads', {
        method: 'POST',
        headers: { 'sec-fetch-site': site },
        body: { leads: [{ leadId: `own-${site}`, phoneNumber: '+14155550101' }] },
      });
      expect(added.status).toBe(201);
    }
  });

  it('refuses a write from a page of another origin with 403 when allowedOrigins is set (a bodyless cross-site POST needs no preflight)', async () => {
    const { api, app } = await startApi({ allowedOrigins: ['https://App.example:443/'] });
    const foreign = await api('/dialer/runs', { method: 'POST', origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('origin_not_allowed');
    const leads = await api('/dialer/leads', {
      method: 'POST',
      origin: 'https://evil.example',
      body: { leads: [{ leadId: 'x', phoneNumber: '+14155550100' }] },
    });
    expect(leads.status).toBe(403);
    expect(await app.store.getLead(demoTenant, 'x')).toBeUndefined();
    // Reads, your own origin, and requests without Origin (not from a browser) go on.
    expect((await api('/dialer/leads', { origin: 'https://evil.example' })).status).toBe(200);
    expect(
      (await api('/dialer/runs', { method: 'POST', origin: 'https://app.example' })).status,
    ).toBe(202);
    expect((await api('/dialer/runs', { method: 'POST' })).status).toBe(202);
    expect(() =>
      createDialerHandler({
        dialer: app.dialer,
        store: app.store,
        authenticate: () => null,
        allowedOrigins: ['app.example'],
      }),
    ).toThrow(/not an origin/);
  });

  it('keeps tenants and users apart: another’s lead or run is 404; no user is 403; no token 401', async () => {
    const { app, api, tokens } = await startApi();
    await api('/dialer/leads', {
      method: 'POST',
      body: { leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550123' }] },
    });
    const { body } = await api('/dialer/runs', { method: 'POST' });
    for (const token of [tokens.user2, tokens.otherTenant]) {
      expect(await api('/dialer/leads/twilio-1', { token })).toMatchObject({
        status: 404,
        body: { error: { code: 'not_found' } },
      });
      expect(await api(`/dialer/runs/${body.runId}`, { token })).toMatchObject({ status: 404 });
      expect((await api('/dialer/leads', { token })).body).toEqual({ leads: [], nextAfter: null });
    }
    // The other tenant's user adds a lead with the same id: its own, in its own tenant.
    expect(
      await api('/dialer/leads', {
        method: 'POST',
        token: tokens.otherTenant,
        body: { leads: [{ leadId: 'twilio-1', phoneNumber: '+14155550999' }] },
      }),
    ).toMatchObject({ status: 201, body: { added: 1 } });
    expect(await app.store.getLead(demoTenant, 'twilio-1')).toMatchObject({
      phoneNumber: '+14155550123',
    });
    expect(await api('/dialer/runs', { method: 'POST', token: tokens.noUser })).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden' } },
    });
    expect(await api('/dialer/leads', { token: null })).toMatchObject({ status: 401 });
    expect(await api('/dialer/leads', { token: 'forged.jwt.token' })).toMatchObject({
      status: 401,
    });
    expect(await api('/dialer/leads?tenantId=other')).toMatchObject({
      status: 400,
      body: { error: { message: '"tenantId" comes from your credentials, not the query.' } },
    });
    // A parameter given twice is ambiguous (a proxy or a cache may read the first, the
    // handler the last): refused, as the tracker's and the webhooks' APIs refuse it.
    for (const query of ['limit=1&limit=500', 'after=a&after=twilio-1', 'after=&after=z']) {
      expect(await api(`/dialer/leads?${query}`)).toMatchObject({
        status: 400,
        body: {
          error: { code: 'invalid_argument', message: expect.stringMatching(/given twice/) },
        },
      });
    }
    expect(await api('/dialer/leads/missing')).toMatchObject({ status: 404 });
    expect(await api('/dialer/runs/missing')).toMatchObject({ status: 404 });
  });

  it("answers a lead id another user of the tenant has with 409 naming it, leaves it theirs, and adds the rest (it was 201 existing: 1, and the lead was never in the user's run)", async () => {
    const { app, api, tokens } = await startApi();
    // Bob (user-2) has crm-42; Alice (user-1) posts it with one new lead.
    await api('/dialer/leads', {
      method: 'POST',
      token: tokens.user2,
      body: { leads: [{ leadId: 'crm-42', phoneNumber: '+14155550123' }] },
    });
    const leads = [
      { leadId: 'crm-42', phoneNumber: '+14155550999' },
      { leadId: 'crm-43', phoneNumber: '+14155550124' },
    ];
    const conflict = {
      status: 409,
      body: {
        error: {
          code: 'lead_conflict',
          message:
            "Lead crm-42 is another user's in this tenant: left to them (any other lead was added).",
        },
        conflicts: ['crm-42'],
        added: 1,
        existing: 0,
      },
    };
    expect(await api('/dialer/leads', { method: 'POST', body: { leads } })).toMatchObject(conflict);
    // The same list again: the same answer, nothing more added.
    expect(await api('/dialer/leads', { method: 'POST', body: { leads } })).toMatchObject({
      ...conflict,
      body: { ...conflict.body, added: 0, existing: 1 },
    });
    expect(await api('/dialer/leads/crm-42')).toMatchObject({ status: 404 });
    expect(
      (await api('/dialer/leads')).body.leads.map((lead: { leadId: string }) => lead.leadId),
    ).toEqual(['crm-43']);
    expect(await app.store.getLead(demoTenant, 'crm-42')).toMatchObject({
      userId: 'user-2',
      phoneNumber: '+14155550123',
    });
  });

  it('refuses bad input with a 4xx naming the problem, and adds or calls nothing', async () => {
    const { app, api } = await startApi();
    const cases: [unknown, number, string | RegExp][] = [
      [{ leads: [{ phoneNumber: '+14155550123' }] }, 400, /Lead 0: leadId/],
      [
        { leads: [{ leadId: 'a', phoneNumber: '+14155550123' }, { leadId: 'b' }] },
        400,
        /Lead 1: phoneNumber/,
      ],
      [
        { leads: [{ leadId: 'a', phoneNumber: '+14155550123', userId: 'user-2' }] },
        400,
        'Lead 0: userId is not a lead field.',
      ],
      [{ leads: [{ leadId: 'a', phoneNumber: '+1', tenantId: 'x' }] }, 400, /tenantId is not/],
      // PostgreSQL cannot store a NUL, UTF-8 has no lone surrogate.
      [
        {
          leads: [
            { leadId: 'a', phoneNumber: '+14155550123' },
            { leadId: 'b\u0000', phoneNumber: '+14155550124' },
          ],
        },
        400,
        /^Lead 1: leadId must not contain/,
      ],
      // A lead id becomes part of the dialer's event ids, which take no control character.
      [
        { leads: [{ leadId: 'a\nforged log line', phoneNumber: '+14155550123' }] },
        400,
        /^Lead 0: leadId must not contain a control character/,
      ],
      [
        { leads: [{ leadId: 'a', phoneNumber: '+14155550123\u0000' }] },
        400,
        /^Lead 0: phoneNumber must not contain/,
      ],
      [
        { leads: [{ leadId: 'a', phoneNumber: '+14155550123', timeZone: 'UTC\ud800' }] },
        400,
        /^Lead 0: timeZone must not contain/,
      ],
      [{ leads: ['+14155550123'] }, 400, 'Lead 0: lead must be an object.'],
      [{ leads: 'all' }, 400, 'The body must be { "leads": [...] }.'],
      // Beside the leads, for another user or tenant: not silently added as the caller's own.
      [
        { userId: 'user-2', leads: [{ leadId: 'a', phoneNumber: '+14155550123' }] },
        400,
        /"userId" is not a field of the body/,
      ],
      [
        { leads: [{ leadId: 'a', phoneNumber: '+14155550123' }], tenantId: 'other' },
        400,
        /"tenantId" is not a field of the body/,
      ],
      [[1], 400, 'The body must be { "leads": [...] }.'],
      ['{"leads": [', 400, 'The body is not valid JSON.'],
      // A key given twice at one level is ambiguous, as a query parameter given twice is: one
      // reader takes the first, JSON.parse the last (another user's leads, or none).
      [
        '{"leads": [{"leadId": "a", "phoneNumber": "+14155550123"}], "leads": []}',
        400,
        'The body gives "leads" twice in one object: give each key once.',
      ],
      [
        '{"leads": [{"leadId": "a", "phoneNumber": "+14155550123"}], "le\\u0061ds": []}',
        400,
        'The body gives "leads" twice in one object: give each key once.',
      ],
      [
        '{"leads": [{"leadId": "a", "phoneNumber": "+14155550123"}, {"leadId": "b", "phoneNumber": "+14155550124", "leadId": "c"}]}',
        400,
        'Lead 1: leadId is given twice: give each key once.',
      ],
    ];
    for (const [body, status, message] of cases) {
      const answer = await api('/dialer/leads', { method: 'POST', body });
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    expect(
      await api('/dialer/leads', { method: 'POST', body: 'leads=1', type: 'text/plain' }),
    ).toMatchObject({ status: 415 });
    expect(await api('/dialer/leads?limit=0')).toMatchObject({ status: 400 });
    expect(await api('/dialer/leads?limit=abc')).toMatchObject({ status: 400 });
    expect(await api('/dialer/leads?page=2')).toMatchObject({ status: 400 });
    const wrongMethod = await api('/dialer/runs');
    expect(wrongMethod).toMatchObject({ status: 405 });
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await api('/dialer/other')).toMatchObject({ status: 404 });
    expect((await api('/dialer/leads')).body).toEqual({ leads: [], nextAfter: null });
    // A run over nothing calls nobody.
    const run = await api('/dialer/runs', { method: 'POST' });
    expect(run.status).toBe(202);
    expect(app.providerApi.countCalls()).toBe(0);
    // A cap that is no count (Number(process.env.MAX_LEADS) with the variable unset is NaN)
    // would bound neither the leads nor the bytes read: refused when the handler is made.
    for (const maxLeadsPerRequest of [Number.NaN, 0, -5, 1.5, Number.POSITIVE_INFINITY, '500']) {
      expect(
        () =>
          createDialerHandler({
            dialer: app.dialer,
            store: app.store,
            authenticate: () => null,
            maxLeadsPerRequest: maxLeadsPerRequest as number,
          }),
        String(maxLeadsPerRequest),
      ).toThrow(/maxLeadsPerRequest/);
    }
  });
  it('takes at most maxLeadsPerRequest leads a request, and reads 512 bytes a lead (at least 64 KiB) of body (README)', async () => {
    const { app, api } = await startApi({ maxLeadsPerRequest: 200 });
    const leads = (count: number) =>
      Array.from({ length: count }, (_, index) => ({
        leadId: `cap-${index}`,
        phoneNumber: `+1415555${String(index).padStart(4, '0')}`,
      }));
    const tooMany = await api('/dialer/leads', { method: 'POST', body: { leads: leads(201) } });
    expect(tooMany).toMatchObject({ status: 400 });
    expect(tooMany.body.error.message).toBe('At most 200 leads per request.');
    expect(await app.store.getLead(demoTenant, 'cap-0')).toBeUndefined();
    // 200 leads: 102,400 bytes read; a body past 64 KiB (the floor) but under that is read (and judged).
    const padded = (bytes: number) => {
      const body = { leads: [{ leadId: 'cap-0', phoneNumber: '+14155550000', timeZone: '' }] };
      body.leads[0]!.timeZone = 'x'.repeat(bytes - JSON.stringify(body).length);
      return JSON.stringify(body);
    };
    const within = await api('/dialer/leads', { method: 'POST', body: padded(90_000) });
    expect(within.status).toBe(400);
    expect(within.body.error.message).toMatch(/^Lead 0: timeZone/);
    const over = await api('/dialer/leads', { method: 'POST', body: padded(200 * 512 + 1) });
    expect(over).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
    expect(
      (await api('/dialer/leads', { method: 'POST', body: { leads: leads(200) } })).body,
    ).toMatchObject({ added: 200, existing: 0 });
  });
});

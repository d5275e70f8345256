import { createCallerDeskCallControl, createCallerDeskClient } from '@calltrack/callerdesk';
import {
  type CallEvent,
  InvalidArgumentError,
  ProviderApiError,
  UnsupportedOperationError,
} from '@calltrack/core';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { stopTestServers } from '@calltrack/test-utils';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { startWebhookApp, type WebhookApp } from './__tests__/start-webhook-app';
import { createProviderApi } from './create-provider-api';
import { createSimulator } from './create-simulator';
import { demoCredentials } from './demo-credentials';
import type { ProviderApi, ProviderApiOptions } from './provider-api';
import type { SimulatorOptions } from './simulator-options';

const customer = '+14155550123';
const indianCustomer = '+919812345678';
const agent = '+919900112233';

const apis: ProviderApi[] = [];
afterEach(async () => {
  await Promise.all(apis.splice(0).map((api) => api.close()));
  await stopTestServers();
});

/** The real webhook app (handlers + tracker), a simulator aimed at it, its provider API listening. */
async function setup(
  apiOptions: Omit<ProviderApiOptions, 'simulator'> = {},
  simulatorOptions: Partial<SimulatorOptions> = {},
  appOptions: Parameters<typeof startWebhookApp>[0] = {},
) {
  const app = await startWebhookApp(appOptions);
  const simulator = createSimulator({
    target: app.url,
    speed: Number.POSITIVE_INFINITY,
    seed: 7,
    ...simulatorOptions,
  });
  const api = createProviderApi({ simulator, ...apiOptions });
  apis.push(api);
  const baseUrl = await api.listen();
  const twilio = createTwilioClient({
    accountSid: demoCredentials.twilioAccountSid,
    authToken: demoCredentials.twilioAuthToken,
    baseUrl,
  });
  const retell = createRetellClient({ apiKey: demoCredentials.retellApiKey, baseUrl });
  const callerDesk = createCallerDeskClient({
    authCode: demoCredentials.callerDeskAuthCode,
    baseUrl,
  });
  return { app, simulator, api, baseUrl, twilio, retell, callerDesk };
}

function typesOf(app: WebhookApp, callId: string): string[] {
  return app.bus.events.filter((event) => event.callId === callId).map((event) => event.type);
}

const isEvent = (callId: string, type: string) => (event: CallEvent) =>
  event.callId === callId && event.type === type;

describe('createProviderApi: Twilio', () => {
  it('creates a call that rings, connects and ends, its callbacks reaching the StatusCallback URL', async () => {
    const { app, api, twilio } = await setup(
      { outcome: 'completed' },
      {},
      {
        twilioTenantFrom: 'query',
      },
    );
    const call = await twilio.placeCall({
      to: customer,
      from: '+14155550100',
      url: 'https://app.example.com/twiml',
      statusCallback: `${app.url}/webhooks/twilio?tenant=demo&reference=req-1`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    expect(call).toMatchObject({
      status: 'queued',
      direction: 'outbound-api',
      to: customer,
      from: '+14155550100',
      accountSid: demoCredentials.twilioAccountSid,
    });
    expect(call.sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]).toMatchObject({
      provider: 'twilio',
      callId: call.sid,
      reference: 'req-1',
      tenantId: 'demo',
      to: customer,
      outcome: 'completed',
    });
    const simulated = await api.calls[0]!.done;
    expect(simulated.ok).toBe(true);
    expect(typesOf(app, call.sid)).toEqual([
      'call.initiated',
      'call.ringing',
      'call.answered',
      'call.ended',
    ]);
    // Every callback went to the request's URL, its query signed along.
    const callbacks = app.received.filter((request) => request.body.includes(call.sid));
    expect(callbacks.every((request) => request.url.endsWith('?tenant=demo&reference=req-1'))).toBe(
      true,
    );
    expect(await app.tracker.getCall('demo', call.sid)).toMatchObject({
      status: 'completed',
      direction: 'outbound',
      to: customer,
    });
    expect(api.countCalls({ to: customer })).toBe(1);
    expect(api.countCalls({ reference: 'req-1', provider: 'twilio' })).toBe(1);
    expect(api.countCalls({ to: '+14155550199' })).toBe(0);
    expect(await twilio.endCall(call.sid).catch((error: unknown) => error)).toMatchObject({
      providerStatus: 400,
      providerCode: 21220,
    });
  });

  it('sends only the status callbacks the call subscribed to, and none without a StatusCallback', async () => {
    const { app, api, twilio } = await setup({ outcome: 'busy' });
    const only = await twilio.placeCall({
      to: customer,
      from: '+14155550101',
      twiml: '<Response/>',
      statusCallback: `${app.url}/webhooks/twilio`,
    });
    const none = await twilio.placeCall({
      to: '+14155550124',
      from: '+14155550101',
      twiml: '<Response/>',
    });
    await Promise.all(api.calls.map((call) => call.done));
    expect(typesOf(app, only.sid)).toEqual(['call.ended']);
    expect(app.bus.events.find((event) => event.callId === only.sid)?.status).toBe('busy');
    expect(typesOf(app, none.sid)).toEqual([]);
    expect(api.countCalls()).toBe(2);
  });

  it('runs machine detection and recording only when asked, to their own callback URLs', async () => {
    const { app, api, twilio } = await setup({ outcome: 'voicemail' });
    const callback = `${app.url}/webhooks/twilio?tenant=demo`;
    const call = await twilio.placeCall({
      to: customer,
      from: '+14155550100',
      url: 'https://app.example.com/twiml',
      statusCallback: callback,
      statusCallbackEvent: ['completed'],
      machineDetection: 'DetectMessageEnd',
      asyncAmd: true,
      asyncAmdStatusCallback: callback,
      record: true,
      recordingStatusCallback: callback,
    });
    await api.calls[0]!.done;
    expect(typesOf(app, call.sid)).toEqual([
      'call.machine_detection',
      'call.ended',
      'call.recording',
    ]);
    const detection = app.bus.events.find((event) => event.type === 'call.machine_detection');
    expect(String(detection?.data.answeredBy)).toMatch(/^machine_end_/);
  });

  it('answers machine_start to MachineDetection=Enable, as Twilio does, and refuses other modes', async () => {
    const { app, api, twilio } = await setup({ outcome: 'voicemail' });
    const callback = `${app.url}/webhooks/twilio?tenant=demo`;
    const place = (machineDetection: string) =>
      twilio.placeCall({
        to: customer,
        from: '+14155550100',
        url: 'https://app.example.com/twiml',
        statusCallback: callback,
        machineDetection: machineDetection as 'Enable',
        asyncAmd: true,
        asyncAmdStatusCallback: callback,
      });
    // machine_end_* comes only with DetectMessageEnd: with Enable Twilio answers machine_start,
    // and the simulator answered machine_end_beep, so a test of Enable passed here only.
    const call = await place('Enable');
    const done = await api.calls[0]!.done;
    const detection = app.bus.events.find(
      (event) => event.callId === call.sid && event.type === 'call.machine_detection',
    );
    expect(detection?.data.answeredBy).toBe('machine_start');
    expect(done.answeredBy).toBe('machine_start');
    expect(await place('Detect').catch((error: unknown) => error)).toMatchObject({
      providerStatus: 400,
      providerCode: 21234,
    });
    expect(api.countCalls()).toBe(1);
  });

  it('hangs up a connected call: completed with the talk time so far', async () => {
    const { app, api, twilio } = await setup(
      { outcome: 'completed', talkDurationMs: 3_600_000 },
      { speed: 20 },
    );
    const control = createTwilioCallControl({
      client: twilio,
      from: '+14155550100',
      statusCallbackUrl: `${app.url}/webhooks/twilio`,
      answer: { url: 'https://app.example.com/twiml' },
    });
    const placed = await control.placeCall({ tenantId: 'demo', to: customer, reference: 'r-2' });
    const callId = placed.callId!;
    await app.waitForEvent(isEvent(callId, 'call.answered'));
    expect(api.calls[0]!.status).toBe('in-progress');
    await control.terminateCall(callId);
    expect(api.calls[0]).toMatchObject({ status: 'completed', terminated: true });
    const ended = await app.waitForEvent(isEvent(callId, 'call.ended'));
    expect(ended.status).toBe('completed');
    expect(typesOf(app, callId)).toEqual([
      'call.initiated',
      'call.ringing',
      'call.answered',
      'call.ended',
    ]);
    const simulated = await api.calls[0]!.done;
    expect(simulated).toMatchObject({ ok: true, status: 'completed', providerStatus: 'completed' });
    expect(simulated.talkDurationMs).toBeLessThan(3_600_000);
    // A second hang-up of an ended call is done already (Twilio's 21220, which the adapter accepts).
    await expect(control.terminateCall(callId)).resolves.toBeUndefined();
    const callUrl = `${api.url}/2010-04-01/Accounts/${demoCredentials.twilioAccountSid}/Calls/${callId}.json`;
    const fetched = await fetch(callUrl, { headers: { authorization: basic() } });
    expect(await fetched.json()).toMatchObject({ sid: callId, status: 'completed' });
    api.setFault((request) =>
      request.operation === 'fetch' ? { type: 'fail', status: 503 } : undefined,
    );
    const failed = await fetch(callUrl, { headers: { authorization: basic() } });
    expect(failed.status).toBe(503);
    expect(await failed.json()).toMatchObject({ code: 20503, status: 503 });
  });

  it('hangs up a ringing call: canceled, with SIP 487', async () => {
    const { app, api, twilio } = await setup({ outcome: 'no-answer' }, { speed: 20 });
    const call = await twilio.placeCall({
      to: customer,
      from: '+14155550100',
      url: 'https://app.example.com/twiml',
      statusCallback: `${app.url}/webhooks/twilio`,
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
    await app.waitForEvent(isEvent(call.sid, 'call.ringing'));
    // `canceled` ends a call that is not answered yet.
    const updated = await twilio.endCall(call.sid, { status: 'canceled' });
    expect(updated.status).toBe('canceled');
    const ended = await app.waitForEvent(isEvent(call.sid, 'call.ended'));
    expect(ended.status).toBe('canceled');
    await api.calls[0]!.done;
    const last = app.received.at(-1)!;
    expect(new URLSearchParams(last.body).get('SipResponseCode')).toBe('487');
  });

  it('answers Twilio’s errors: credentials, From, To, unknown calls', async () => {
    const { api, baseUrl, twilio } = await setup();
    const wrongToken = createTwilioClient({
      accountSid: demoCredentials.twilioAccountSid,
      authToken: 'wrong',
      baseUrl,
    });
    const attempt = (client = twilio, to = customer, from = '+14155550100') =>
      client
        .placeCall({ to, from, url: 'https://app.example.com/twiml' })
        .catch((error: unknown) => error);
    expect(await attempt(wrongToken)).toMatchObject({ providerStatus: 401, providerCode: 20003 });
    expect(await attempt(twilio, customer, '+14155550999')).toMatchObject({
      providerStatus: 400,
      providerCode: 21210,
      isRetryable: false,
    });
    expect(await attempt(twilio, '555-0123')).toMatchObject({ providerCode: 21211 });
    expect(
      await twilio.endCall('CA00000000000000000000000000000000').catch((error: unknown) => error),
    ).toMatchObject({ providerStatus: 404, providerCode: 20404 });
    expect(api.countCalls()).toBe(0);
  });

  it('refuses callback URLs and StatusCallbackEvents Twilio would refuse, placing nothing', async () => {
    const { api, baseUrl } = await setup();
    const create = (fields: Record<string, string | string[]>) => {
      const form = new URLSearchParams({ To: customer, From: '+14155550100' });
      for (const [name, value] of Object.entries(fields)) {
        for (const one of [value].flat()) form.append(name, one);
      }
      return fetch(
        `${baseUrl}/2010-04-01/Accounts/${demoCredentials.twilioAccountSid}/Calls.json`,
        {
          method: 'POST',
          headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
          body: form,
        },
      ).then(async (response) => ({ status: response.status, ...(await response.json()) }));
    };
    const url = 'https://app.example.com/twiml';
    // A relative StatusCallback was accepted (201) and its first callback threw an unhandled
    // TypeError (Invalid URL) that ended the process running the provider API.
    expect(await create({ Url: url, StatusCallback: 'webhooks/twilio' })).toMatchObject({
      status: 400,
      code: 21609,
    });
    expect(
      await create({ Url: url, StatusCallback: 'ftp://app.example.com/status' }),
    ).toMatchObject({ status: 400, code: 21609 });
    expect(await create({ Url: 'not a url' })).toMatchObject({ status: 400, code: 21205 });
    expect(
      await create({ Url: url, StatusCallback: `${url}/status`, StatusCallbackEvent: 'answerd' }),
    ).toMatchObject({ status: 400, code: 21626 });
    for (const [name, extra] of [
      ['RecordingStatusCallback', { Record: 'true' }],
      ['AsyncAmdStatusCallback', { MachineDetection: 'Enable', AsyncAmd: 'true' }],
    ] as const) {
      expect(await create({ Url: url, ...extra, [name]: '/relative' })).toMatchObject({
        status: 400,
        code: 21205,
      });
    }
    expect(api.countCalls()).toBe(0);
  });

  it('answers 413 to a body over the limit, before placing anything', async () => {
    const { api, baseUrl } = await setup();
    const response = await fetch(
      `${baseUrl}/2010-04-01/Accounts/${demoCredentials.twilioAccountSid}/Calls.json`,
      {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: `To=${encodeURIComponent(customer)}&From=%2B14155550100&Url=https://a.example/&Pad=${'a'.repeat(2 * 1024 * 1024)}`,
      },
    );
    expect(response.status).toBe(413);
    expect(api.countCalls()).toBe(0);
  });
});

describe('createProviderApi: Retell', () => {
  it('creates a phone call whose webhooks carry the request’s metadata', async () => {
    const { app, api, retell } = await setup({ outcome: 'completed' });
    const control = createRetellCallControl({ client: retell, from: '+14155550110' });
    const placed = await control.placeCall({ tenantId: 'demo', to: customer, reference: 'req-3' });
    expect(placed).toMatchObject({ provider: 'retell', reference: 'req-3' });
    const callId = placed.callId!;
    expect(api.calls[0]).toMatchObject({ provider: 'retell', callId, reference: 'req-3' });
    await api.calls[0]!.done;
    expect(typesOf(app, callId)).toEqual([
      'call.initiated',
      'call.answered',
      'call.ended',
      'call.recording',
      'call.analyzed',
    ]);
    const ended = app.bus.events.find((event) => event.type === 'call.ended')!;
    expect(ended.data.metadata).toEqual({ tenantId: 'demo', reference: 'req-3' });
    expect(ended.status).toBe('completed');
  });

  it('stops a connected call (manual_stopped → completed) and one not yet connected (canceled)', async () => {
    const { app, api, retell } = await setup(
      { outcome: 'completed', talkDurationMs: 3_600_000 },
      { speed: 20 },
    );
    const control = createRetellCallControl({ client: retell, from: '+14155550111' });
    const connected = (await control.placeCall({ tenantId: 'demo', to: customer })).callId!;
    await app.waitForEvent(isEvent(connected, 'call.answered'));
    await control.terminateCall(connected);
    const ended = await app.waitForEvent(isEvent(connected, 'call.ended'));
    expect(ended).toMatchObject({ status: 'completed' });
    expect(ended.data.disconnectionReason ?? ended.data.reason).toBe('manual_stopped');

    const early = (await control.placeCall({ tenantId: 'demo', to: '+14155550124' })).callId!;
    await control.terminateCall(early);
    expect((await app.waitForEvent(isEvent(early, 'call.ended'))).status).toBe('canceled');
    // Stopping an ended call changes nothing.
    await control.terminateCall(early);
    await Promise.all(api.calls.map((call) => call.done));
    expect(typesOf(app, early).filter((type) => type === 'call.ended')).toHaveLength(1);
    await expect(control.terminateCall('call_unknown')).rejects.toMatchObject({
      providerStatus: 404,
    });
  });

  it('answers Retell’s errors: API key, from_number, to_number', async () => {
    const { api, baseUrl, retell } = await setup();
    const wrongKey = createRetellClient({ apiKey: 'wrong', baseUrl });
    const attempt = (client = retell, toNumber = customer, fromNumber = '+14155550110') =>
      client.placeCall({ from: fromNumber, to: toNumber }).catch((error: unknown) => error);
    expect(await attempt(wrongKey)).toMatchObject({ providerStatus: 401 });
    expect(await attempt(retell, customer, '+14155550100')).toMatchObject({
      providerStatus: 422,
      isRetryable: false,
    });
    expect(await attempt(retell, '0123')).toMatchObject({ providerStatus: 400 });
    expect(api.countCalls()).toBe(0);
  });

  it('answers 413 to a body over the limit and 400 to JSON that is not an object', async () => {
    const { api, baseUrl } = await setup();
    const post = (body: string) =>
      fetch(`${baseUrl}/v2/create-phone-call`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${demoCredentials.retellApiKey}`,
          'content-type': 'application/json',
        },
        body,
      });
    const big = await post(
      JSON.stringify({
        from_number: '+14155550110',
        to_number: customer,
        metadata: { pad: 'a'.repeat(2 * 1024 * 1024) },
      }),
    );
    expect(big.status).toBe(413);
    for (const body of ['{bad', '[]', 'null', '"x"']) {
      expect((await post(body)).status).toBe(400);
    }
    expect(api.countCalls()).toBe(0);
  });
});

describe('createProviderApi: the answers its README lists', () => {
  it('Retell: create-phone-call 201 registered, stop-call 204 (again on an ended call); Twilio: 201 queued; a body just over 64 KiB is 413', async () => {
    const { api, baseUrl } = await setup({ outcome: 'completed', talkDurationMs: 600_000 });
    const retell = (path: string, body: unknown) =>
      fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${demoCredentials.retellApiKey}`,
          'content-type': 'application/json',
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
    const created = await retell('/v2/create-phone-call', {
      from_number: '+14155550110',
      to_number: customer,
    });
    expect(created.status).toBe(201);
    const call = (await created.json()) as { call_id: string; call_status: string };
    expect(call.call_status).toBe('registered');
    expect((await retell(`/v2/stop-call/${call.call_id}`, {})).status).toBe(204);
    await api.calls[0]?.done;
    expect((await retell(`/v2/stop-call/${call.call_id}`, {})).status).toBe(204);
    expect(api.countCalls({ provider: 'retell' })).toBe(1);

    const tooBig = JSON.stringify({
      from_number: '+14155550110',
      to_number: customer,
      metadata: { pad: 'a'.repeat(64 * 1024) },
    });
    expect((await retell('/v2/create-phone-call', tooBig)).status).toBe(413);

    const twilioCalls = `${baseUrl}/2010-04-01/Accounts/${demoCredentials.twilioAccountSid}/Calls.json`;
    const basic = `Basic ${Buffer.from(
      `${demoCredentials.twilioAccountSid}:${demoCredentials.twilioAuthToken}`,
    ).toString('base64')}`;
    const twilio = (body: URLSearchParams) =>
      fetch(twilioCalls, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    const placed = await twilio(
      new URLSearchParams({ To: customer, From: '+14155550100', Url: 'https://example.com/twiml' }),
    );
    expect(placed.status).toBe(201);
    expect(await placed.json()).toMatchObject({ status: 'queued' });
    const padded = new URLSearchParams({
      To: customer,
      From: '+14155550100',
      Pad: 'a'.repeat(64 * 1024),
    });
    expect((await twilio(padded)).status).toBe(413);
    expect(api.countCalls()).toBe(2);
    await Promise.all(api.calls.map((placedCall) => placedCall.done));
  });
});

describe('createProviderApi: CallerDesk', () => {
  it('places a click-to-call that rings the agent, with the reference as campid', async () => {
    const { app, api, callerDesk } = await setup({ outcome: 'completed' });
    const control = createCallerDeskCallControl({ client: callerDesk, from: '08041234567' });
    const placed = await control.placeCall({
      tenantId: 'demo',
      to: indianCustomer,
      agentNumber: agent,
      reference: 'req-4',
    });
    expect(placed).toEqual({ provider: 'callerdesk', callId: undefined, reference: 'req-4' });
    expect(api.calls[0]).toMatchObject({
      provider: 'callerdesk',
      reference: 'req-4',
      to: indianCustomer,
      agentNumber: '9900112233',
      tenantId: 'demo',
    });
    await api.calls[0]!.done;
    const callId = api.calls[0]!.callId;
    expect(typesOf(app, callId)).toContain('call.ended');
    const ended = app.bus.events.find((event) => isEvent(callId, 'call.ended')(event))!;
    expect(ended).toMatchObject({ status: 'completed', to: indianCustomer });
    expect(ended.data.campaignId).toBe('req-4');
    expect(api.countCalls({ reference: 'req-4' })).toBe(1);
    const refusal = await control.terminateCall(callId).catch((error: unknown) => error);
    expect(UnsupportedOperationError.isInstance(refusal)).toBe(true);
  });

  it('answers CallerDesk’s refusals with HTTP 200 and type error', async () => {
    const { api, baseUrl, callerDesk } = await setup();
    const wrong = createCallerDeskClient({ authCode: 'wrong', baseUrl });
    const attempt = (client = callerDesk, deskphone = '08041234567') =>
      client
        .clickToCall({ agentNumber: agent, customerNumber: indianCustomer, deskphone })
        .catch((error: unknown) => error);
    expect(await attempt(wrong)).toMatchObject({
      providerStatus: 200,
      isRetryable: false,
      message: expect.stringContaining('Invalid authcode'),
    });
    expect(await attempt(callerDesk, '08000000000')).toMatchObject({
      message: expect.stringContaining('Invalid deskphone'),
    });
    expect(api.countCalls()).toBe(0);
  });
});

describe('createProviderApi: faults and counts', () => {
  it('refuses, fails (placing the call or not) and delays as told, per request', async () => {
    const { app, api, twilio, retell, callerDesk } = await setup({ outcome: 'busy' });
    api.setFault((request) => {
      if (request.operation !== 'place') return undefined;
      if (request.to === '+14155550131') return { type: 'refuse' };
      if (request.to === '+14155550132') return { type: 'fail', status: 503 };
      if (request.to === '+14155550133') return { type: 'fail', placed: true };
      if (request.to === '+14155550134') return { type: 'delay', ms: 300 };
      return { type: 'refuse', status: 429, message: 'Too many requests' };
    });
    const place = (to: string, client = twilio) =>
      client
        .placeCall({ to, from: '+14155550100', url: 'https://app.example.com/twiml' })
        .catch((error: unknown) => error);
    const refused = await place('+14155550131');
    expect(ProviderApiError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ providerStatus: 400, providerCode: 21211, isRetryable: false });
    expect(await place('+14155550132')).toMatchObject({ providerStatus: 503, isRetryable: true });
    expect(api.countCalls()).toBe(0);
    // Failed after placing: the ambiguous case. The call exists and its webhooks follow.
    expect(await place('+14155550133')).toMatchObject({ providerStatus: 500, isRetryable: true });
    expect(api.countCalls({ to: '+14155550133' })).toBe(1);
    // A client that gives up before the late answer cannot know the call was placed.
    const impatient = createTwilioClient({
      accountSid: demoCredentials.twilioAccountSid,
      authToken: demoCredentials.twilioAuthToken,
      baseUrl: api.url!,
      timeoutMs: 50,
    });
    expect(await place('+14155550134', impatient)).toMatchObject({
      providerStatus: undefined,
      isRetryable: true,
    });
    expect(api.countCalls({ to: '+14155550134' })).toBe(1);
    expect(await place('+14155550135')).toMatchObject({ providerStatus: 429, isRetryable: true });

    expect(
      await retell
        .placeCall({ from: '+14155550110', to: '+14155550131' })
        .catch((error: unknown) => error),
    ).toMatchObject({ provider: 'retell', providerStatus: 400, isRetryable: false });
    expect(
      await callerDesk
        .clickToCall({
          agentNumber: agent,
          customerNumber: indianCustomer,
          deskphone: '08041234567',
        })
        .catch((error: unknown) => error),
    ).toMatchObject({ provider: 'callerdesk', providerStatus: 429 });
    api.setFault(undefined);
    await Promise.all(api.calls.map((call) => call.done));
    expect(api.countCalls()).toBe(2);
    expect(typesOf(app, api.calls[0]!.callId)).toEqual([]);
    // Held: placed at once, answered only once the test lets go.
    let release = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    api.setFault((request) =>
      request.operation === 'place' ? { type: 'hold', until: released } : undefined,
    );
    let answered = false;
    const held = place('+14155550136').then((answer) => {
      answered = true;
      return answer;
    });
    while (api.countCalls({ to: '+14155550136' }) === 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Time for an answer to come back, were it not held (this only waits to see nothing happen).
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    release();
    expect(await held).toMatchObject({ sid: expect.stringMatching(/^CA/) });
  });

  it('counts calls per number and per reference across providers', async () => {
    const { api, twilio, retell } = await setup({ outcome: 'no-answer' });
    for (let index = 0; index < 3; index += 1) {
      await twilio.placeCall({
        to: customer,
        from: '+14155550100',
        url: 'https://app.example.com/twiml',
        statusCallback: `https://hooks.example.com/twilio?reference=lead-${index % 2}`,
      });
    }
    await retell.placeCall({
      from: '+14155550110',
      to: customer,
      metadata: { reference: 'lead-0' },
    });
    expect(api.countCalls({ to: customer })).toBe(4);
    expect(api.countCalls({ reference: 'lead-0' })).toBe(3);
    expect(api.countCalls({ reference: 'lead-0', provider: 'twilio' })).toBe(2);
    expect(api.countCalls({ tenantId: 'demo' })).toBe(4);
  });

  it('refuses to work without a simulator from createSimulator, and unknown paths are 404', async () => {
    expect(() => createProviderApi({ simulator: {} as never })).toThrow(InvalidArgumentError);
    const { api } = await setup();
    const response = await fetch(`${api.url}/v1/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});

function basic(): string {
  return `Basic ${Buffer.from(`${demoCredentials.twilioAccountSid}:${demoCredentials.twilioAuthToken}`).toString('base64')}`;
}

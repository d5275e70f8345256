import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, ProviderApiError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioClient } from './create-twilio-client';
import { TwilioApiError } from './twilio-api-error';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const authToken = 'secret-token';
const callSid = 'CAf0e1d2c3b4a5968778695a4b3c2d1e0f';

interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  form: URLSearchParams;
}

afterEach(closeServers);

function callResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sid: callSid,
    account_sid: accountSid,
    parent_call_sid: null,
    to: '+14155550100',
    to_formatted: '(415) 555-0100',
    from: '+14155550199',
    from_formatted: '(415) 555-0199',
    status: 'queued',
    direction: 'outbound-api',
    answered_by: null,
    date_created: 'Sun, 25 Mar 2018 09:52:28 +0000',
    date_updated: 'Sun, 25 Mar 2018 09:52:28 +0000',
    start_time: null,
    end_time: null,
    duration: null,
    price: null,
    price_unit: 'USD',
    api_version: '2010-04-01',
    uri: `/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`,
    ...overrides,
  };
}

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

/**
 * A local server speaking the part of Twilio's REST API the client uses: Basic auth, form bodies,
 * Calls.json (create) and Calls/{Sid}.json (update), errors as { code, message, more_info, status }.
 */
async function fakeTwilio(
  answer?: (
    recorded: Recorded,
  ) =>
    | { status: number; body: unknown; headers?: Record<string, string> }
    | 'destroy'
    | 'hang'
    | undefined,
) {
  const requests: Recorded[] = [];
  const baseUrl = await listen((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: Recorded = {
        method: request.method ?? '',
        path: request.url ?? '',
        authorization: request.headers.authorization,
        contentType: request.headers['content-type'],
        form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      };
      requests.push(recorded);
      const custom = answer?.(recorded);
      if (custom === 'destroy') {
        request.socket.destroy();
        return;
      }
      if (custom === 'hang') return; // never answers
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (custom !== undefined) return send(custom.status, custom.body, custom.headers);
      const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
      if (recorded.authorization !== expected) {
        return send(401, twilioError(401, 20003, 'Authenticate'));
      }
      const prefix = `/2010-04-01/Accounts/${accountSid}/Calls`;
      if (recorded.method === 'POST' && recorded.path === `${prefix}.json`) {
        if (!recorded.form.get('To')?.startsWith('+')) {
          return send(400, twilioError(400, 21211, "Invalid 'To' Phone Number"));
        }
        return send(
          201,
          callResource({ to: recorded.form.get('To'), from: recorded.form.get('From') }),
        );
      }
      const update = new RegExp(`^${prefix}/(CA[0-9a-f]+)\\.json$`).exec(recorded.path);
      if (recorded.method === 'POST' && update !== null) {
        if (update[1] !== callSid) {
          return send(404, twilioError(404, 20404, 'The requested resource was not found'));
        }
        return send(
          200,
          callResource({ status: recorded.form.get('Status'), duration: '49', price: '-0.0130' }),
        );
      }
      return send(404, twilioError(404, 20404, 'The requested resource was not found'));
    });
  });
  return { baseUrl, requests };
}

describe('createTwilioClient', () => {
  it('places a call with Basic auth and a form body, and returns the typed call', async () => {
    const { baseUrl, requests } = await fakeTwilio();
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    const call = await client.placeCall({
      to: '+14155550100',
      from: '+14155550199',
      url: 'https://example.com/twiml',
      statusCallback: 'https://example.com/webhooks/twilio',
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      machineDetection: 'DetectMessageEnd',
      asyncAmd: true,
      asyncAmdStatusCallback: 'https://example.com/webhooks/twilio',
      record: true,
      timeout: 25,
      params: { CallReason: 'Appointment reminder' },
    });
    expect(call).toEqual({
      sid: callSid,
      accountSid,
      parentCallSid: null,
      to: '+14155550100',
      from: '+14155550199',
      status: 'queued',
      direction: 'outbound-api',
      answeredBy: null,
      dateCreated: 'Sun, 25 Mar 2018 09:52:28 +0000',
      dateUpdated: 'Sun, 25 Mar 2018 09:52:28 +0000',
      startTime: null,
      endTime: null,
      durationSeconds: null,
      price: null,
      priceUnit: 'USD',
      apiVersion: '2010-04-01',
      uri: `/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`,
    });
    const [request] = requests;
    expect(request!.contentType).toBe('application/x-www-form-urlencoded');
    expect(request!.form.getAll('StatusCallbackEvent')).toEqual([
      'initiated',
      'ringing',
      'answered',
      'completed',
    ]);
    expect(Object.fromEntries(request!.form)).toMatchObject({
      To: '+14155550100',
      From: '+14155550199',
      Url: 'https://example.com/twiml',
      StatusCallback: 'https://example.com/webhooks/twilio',
      MachineDetection: 'DetectMessageEnd',
      AsyncAmd: 'true',
      Record: 'true',
      Timeout: '25',
      CallReason: 'Appointment reminder',
    });
  });

  it('places a call with inline TwiML', async () => {
    const { baseUrl, requests } = await fakeTwilio();
    const client = createTwilioClient({ accountSid, authToken, baseUrl: `${baseUrl}/` });
    await client.placeCall({
      to: '+14155550100',
      from: '+14155550199',
      twiml: '<Response><Say>Hi</Say></Response>',
    });
    expect(requests[0]!.form.get('Twiml')).toBe('<Response><Say>Hi</Say></Response>');
    expect(requests[0]!.form.has('Url')).toBe(false);
  });

  it('ends a call with POST Calls/{Sid}.json and Status=completed', async () => {
    const { baseUrl, requests } = await fakeTwilio();
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    const call = await client.endCall(callSid);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`,
    });
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ Status: 'completed' });
    expect(call).toMatchObject({
      sid: callSid,
      status: 'completed',
      durationSeconds: 49,
      price: '-0.0130',
    });
    await client.endCall(callSid, { status: 'canceled' });
    expect(requests[1]!.form.get('Status')).toBe('canceled');
  });

  it('turns a 4xx into a non-retryable TwilioApiError carrying code, message and more_info', async () => {
    const { baseUrl } = await fakeTwilio();
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    const error = await client
      .placeCall({ to: 'nowhere', from: '+14155550199', url: 'https://example.com/twiml' })
      .catch((caught: unknown) => caught);
    expect(TwilioApiError.isInstance(error)).toBe(true);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      provider: 'twilio',
      providerStatus: 400,
      providerCode: 21211,
      moreInfo: 'https://www.twilio.com/docs/errors/21211',
      isRetryable: false,
      status: 502,
    });
    expect((error as Error).message).toContain("Invalid 'To' Phone Number");
  });

  it('reports an unknown call as 404 / 20404 and wrong credentials as 401 / 20003', async () => {
    const { baseUrl } = await fakeTwilio();
    const unknown = await createTwilioClient({ accountSid, authToken, baseUrl })
      .endCall('CA00000000000000000000000000000000')
      .catch((caught: unknown) => caught);
    expect(unknown).toMatchObject({ providerStatus: 404, providerCode: 20404, isRetryable: false });
    const unauthorized = await createTwilioClient({ accountSid, authToken: 'wrong', baseUrl })
      .endCall(callSid)
      .catch((caught: unknown) => caught);
    expect(unauthorized).toMatchObject({ providerStatus: 401, providerCode: 20003 });
  });

  it('marks 5xx and 429 answers retryable, also when the body is not JSON', async () => {
    let status = 503;
    const { baseUrl } = await fakeTwilio(() => ({
      status,
      body:
        status === 503
          ? '<html>Service Unavailable</html>'
          : twilioError(429, 20429, 'Too Many Requests'),
    }));
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    const unavailable = await client.endCall(callSid).catch((caught: unknown) => caught);
    expect(unavailable).toMatchObject({
      providerStatus: 503,
      providerCode: undefined,
      isRetryable: true,
    });
    expect((unavailable as TwilioApiError).responseBody).toContain('Service Unavailable');
    status = 429;
    const limited = await client.endCall(callSid).catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ providerStatus: 429, providerCode: 20429, isRetryable: true });
  });

  it('marks 408 and 409 answers retryable, as the README says; a 400 is not', async () => {
    let status = 408;
    const { baseUrl } = await fakeTwilio(() => ({
      status,
      body: twilioError(status, 20000 + status, 'Refused'),
    }));
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    for (const [answer, isRetryable] of [
      [408, true],
      [409, true],
      [400, false],
    ] as const) {
      status = answer;
      const failure = await client.endCall(callSid).catch((caught: unknown) => caught);
      expect(failure).toBeInstanceOf(TwilioApiError);
      expect(failure).toMatchObject({ providerStatus: answer, isRetryable });
    }
  });

  it('carries the Retry-After of a 429 or 503 (seconds or an HTTP date) as retryAfterSeconds', async () => {
    let answer = { status: 429, retryAfter: '7' };
    const { baseUrl } = await fakeTwilio(() => ({
      status: answer.status,
      body: twilioError(answer.status, 20429, 'Too Many Requests'),
      headers: { 'retry-after': answer.retryAfter },
    }));
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    const fail = () => client.endCall(callSid).catch((caught: unknown) => caught);
    expect(await fail()).toMatchObject({ providerStatus: 429, retryAfterSeconds: 7 });
    answer = { status: 503, retryAfter: new Date(Date.now() + 60_000).toUTCString() };
    const unavailable = (await fail()) as TwilioApiError;
    expect(unavailable.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(unavailable.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Only a rate limit or an unavailable service says when to come back.
    answer = { status: 500, retryAfter: '7' };
    expect(await fail()).toMatchObject({ providerStatus: 500, retryAfterSeconds: undefined });
  });

  it('reports a 2xx that is not a Call resource', async () => {
    const { baseUrl } = await fakeTwilio(() => ({ status: 200, body: { hello: 'world' } }));
    const error = await createTwilioClient({ accountSid, authToken, baseUrl })
      .endCall(callSid)
      .catch((caught: unknown) => caught);
    expect(TwilioApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ providerStatus: 200, isRetryable: true }); // it may have placed the call
  });

  it('turns a dropped connection into a retryable TwilioApiError without a status', async () => {
    const { baseUrl } = await fakeTwilio(() => 'destroy');
    const error = await createTwilioClient({ accountSid, authToken, baseUrl })
      .endCall(callSid)
      .catch((caught: unknown) => caught);
    expect(TwilioApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
  });

  it('turns a refused connection into a retryable TwilioApiError', async () => {
    const { baseUrl } = await fakeTwilio();
    await closeServers(); // Nothing listens on that port any more.
    const error = await createTwilioClient({ accountSid, authToken, baseUrl })
      .placeCall({ to: '+14155550100', from: '+14155550199', url: 'https://example.com/twiml' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      provider: 'twilio',
      providerStatus: undefined,
      isRetryable: true,
    });
  });

  it('honours an abort signal', async () => {
    const { baseUrl } = await fakeTwilio();
    const controller = new AbortController();
    controller.abort();
    const error = await createTwilioClient({ accountSid, authToken, baseUrl })
      .endCall(callSid, { signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(TwilioApiError.isInstance(error)).toBe(true);
  });

  it('gives up after timeoutMs with a retryable TwilioApiError without a status', async () => {
    const { baseUrl, requests } = await fakeTwilio(() => 'hang');
    const client = createTwilioClient({ accountSid, authToken, baseUrl, timeoutMs: 50 });
    for (const attempt of [
      () => client.placeCall({ to: '+14155550100', from: '+14155550199', url: 'https://x' }),
      // A caller's own signal does not lift the timeout.
      () => client.endCall(callSid, { signal: new AbortController().signal }),
    ]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(TwilioApiError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
    }
    expect(requests).toHaveLength(2);
  });

  it('refuses a timeoutMs no timer can take when created, not on every request', () => {
    // Each of these made every placeCall and endCall reject with a bare RangeError from
    // AbortSignal.timeout: no TwilioApiError, no isRetryable.
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 1.5, 2 ** 32, '30000']) {
      expect(() =>
        createTwilioClient({ accountSid, authToken, timeoutMs: timeoutMs as never }),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          message: expect.stringContaining('timeoutMs'),
        }),
      );
    }
    expect(() =>
      createTwilioClient({ accountSid, authToken, timeoutMs: 2 ** 32 - 1 }),
    ).not.toThrow();
  });

  it('rejects arguments that cannot make a request, without calling Twilio', async () => {
    const { baseUrl, requests } = await fakeTwilio();
    expect(() => createTwilioClient({ accountSid: '', authToken, baseUrl })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createTwilioClient({ accountSid, authToken: '', baseUrl })).toThrow(
      InvalidArgumentError,
    );
    const client = createTwilioClient({ accountSid, authToken, baseUrl });
    await expect(client.placeCall({ to: '+1', from: '+2' })).rejects.toThrow(InvalidArgumentError);
    await expect(
      client.placeCall({ to: '+1', from: '+2', url: 'https://x', twiml: '<Response/>' }),
    ).rejects.toThrow(InvalidArgumentError);
    await expect(client.placeCall({ to: '', from: '+2', url: 'https://x' })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(client.endCall('../../Accounts')).rejects.toThrow(InvalidArgumentError);
    await expect(client.endCall(callSid, { status: 'paused' as never })).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(requests).toEqual([]);
  });
});

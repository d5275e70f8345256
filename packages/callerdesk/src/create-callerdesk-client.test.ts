import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallTrackError, ProviderApiError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallerDeskClient } from './create-callerdesk-client';

afterEach(closeServers);

const authCode = '5f4d824d89e9063bc5085aefeae669c6';

/**
 * A local stand-in for app.callerdesk.io: GET /api/click_to_call_v2 with query parameters,
 * answering HTTP 200 with `{"type":"success"|"error", …}` like CallerDesk does.
 */
async function fakeCallerDesk(
  respond: (url: URL, response: ServerResponse) => void = defaultRespond,
) {
  const requests: { method: string | undefined; url: URL }[] = [];
  const baseUrl = await listen((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://callerdesk.test');
    requests.push({ method: request.method, url });
    respond(url, response);
  });
  return { baseUrl, requests };
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function defaultRespond(url: URL, response: ServerResponse) {
  if (url.pathname !== '/api/click_to_call_v2') {
    json(response, 404, { type: 'error', message: 'Not found' });
    return;
  }
  if (url.searchParams.get('authcode') !== authCode) {
    json(response, 200, { type: 'error', message: 'Invalid authcode' });
    return;
  }
  if (url.searchParams.get('call_from_did') !== '1') {
    json(response, 200, { type: 'error', message: 'call_from_did is mandatory' });
    return;
  }
  json(response, 200, {
    type: 'success',
    message: 'Call initiated successfully',
    campid: url.searchParams.get('campid') ?? 48213,
  });
}

describe('createCallerDeskClient', () => {
  it('places a click-to-call with GET /api/click_to_call_v2', async () => {
    const { baseUrl, requests } = await fakeCallerDesk();
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const result = await client.clickToCall({
      agentNumber: '+919812345678',
      customerNumber: '+91 98765 43210',
      campaignId: 9995,
      callerId: '08047112233',
      callLimit: 300,
    });
    expect(result).toEqual({
      campaignId: '9995',
      callId: undefined,
      message: 'Call initiated successfully',
      response: { type: 'success', message: 'Call initiated successfully', campid: '9995' },
    });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.method).toBe('GET');
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({
      calling_party_a: '9812345678',
      calling_party_b: '9876543210',
      deskphone: '08047112233',
      authcode: authCode,
      call_from_did: '1',
      campid: '9995',
      callerid: '08047112233',
      CallLimit: '300',
    });
  });

  it('sends only the parameters given, and numbers other than +91 as their digits', async () => {
    const { baseUrl, requests } = await fakeCallerDesk();
    const client = createCallerDeskClient({ authCode, baseUrl: `${baseUrl}/` });
    const result = await client.clickToCall({
      agentNumber: '09812345678',
      customerNumber: '+971501234567',
      deskphone: '0804 711 2233',
    });
    expect(result.campaignId).toBe('48213');
    expect(Object.fromEntries(requests[0]!.url.searchParams)).toEqual({
      calling_party_a: '09812345678',
      calling_party_b: '971501234567',
      deskphone: '08047112233',
      authcode: authCode,
      call_from_did: '1',
    });
  });

  it('reads a call id when CallerDesk returns one', async () => {
    const { baseUrl } = await fakeCallerDesk((_url, response) =>
      json(response, 200, { type: 'success', CallSid: '1714642205.962310' }),
    );
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const result = await client.clickToCall({
      agentNumber: '9812345678',
      customerNumber: '9876543210',
    });
    expect(result).toMatchObject({ callId: '1714642205.962310', campaignId: undefined });
  });

  it('turns {"type":"error"} with HTTP 200 into a ProviderApiError, without the auth code', async () => {
    const { baseUrl } = await fakeCallerDesk();
    const client = createCallerDeskClient({
      authCode: 'wrong-code-that-must-not-leak',
      baseUrl,
      deskphone: '08047112233',
    });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      provider: 'callerdesk',
      providerStatus: 200,
      isRetryable: false,
      responseBody: '{"type":"error","message":"Invalid authcode"}',
    });
    expect((error as Error).message).toBe(
      'CallerDesk click-to-call failed with an error: Invalid authcode',
    );
    expect(JSON.stringify(error)).not.toContain('wrong-code-that-must-not-leak');
  });

  it('redacts the auth code from an answer that echoes it', async () => {
    const { baseUrl } = await fakeCallerDesk((url, response) =>
      json(response, 200, { status: 'failed', message: `bad request ${url.search}` }),
    );
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect((error as ProviderApiError).responseBody).not.toContain(authCode);
    expect((error as Error).message).not.toContain(authCode);
  });

  it.each([
    [401, false],
    [404, false],
    [429, true],
    [500, true],
    [503, true],
  ])('turns HTTP %i into a ProviderApiError (retryable: %s)', async (status, retryable) => {
    const { baseUrl } = await fakeCallerDesk((_url, response) =>
      json(response, status, { type: 'error', message: `failure ${status}`, code: 'E42' }),
    );
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      providerStatus: status,
      providerCode: 'E42',
      isRetryable: retryable,
    });
    expect((error as Error).message).toContain(`HTTP ${status}: failure ${status}`);
  });

  it('carries the Retry-After of a 429 or 503 (seconds or an HTTP date) as retryAfterSeconds', async () => {
    let answer = { status: 429, retryAfter: '7' };
    const { baseUrl } = await fakeCallerDesk((_url, response) => {
      response.writeHead(answer.status, {
        'content-type': 'application/json',
        'retry-after': answer.retryAfter,
      });
      response.end(JSON.stringify({ type: 'error', message: 'Too many requests' }));
    });
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const fail = () =>
      client
        .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
        .catch((caught: unknown) => caught);
    expect(await fail()).toMatchObject({ providerStatus: 429, retryAfterSeconds: 7 });
    // An HTTP date a minute ahead (whole seconds), read on the clock when the answer came: the
    // wait is bounded by the clock before and after the call, however long a loaded machine
    // takes over it (a fixed 58 to 60 failed past 2 s).
    const at = Math.floor((Date.now() + 60_000) / 1000) * 1000;
    answer = { status: 503, retryAfter: new Date(at).toUTCString() };
    const before = Date.now();
    const unavailable = (await fail()) as ProviderApiError;
    const after = Date.now();
    expect(unavailable.retryAfterSeconds).toBeGreaterThanOrEqual(Math.ceil((at - after) / 1000));
    expect(unavailable.retryAfterSeconds).toBeLessThanOrEqual(Math.ceil((at - before) / 1000));
    answer = { status: 500, retryAfter: '7' };
    expect(await fail()).toMatchObject({ providerStatus: 500, retryAfterSeconds: undefined });
  });

  it('refuses an answer that is not a JSON object', async () => {
    const { baseUrl } = await fakeCallerDesk((_url, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>Maintenance</html>');
    });
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ providerStatus: 200, responseBody: '<html>Maintenance</html>' });
    expect((error as Error).message).toContain('not a JSON object');
  });

  it('turns a network failure into a retryable ProviderApiError', async () => {
    const { baseUrl } = await fakeCallerDesk();
    await closeServers();
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
    expect(JSON.stringify(error)).not.toContain(authCode);
  });

  it('turns a connection dropped mid-answer into a ProviderApiError', async () => {
    const { baseUrl } = await fakeCallerDesk((_url, response) => response.socket?.destroy());
    const client = createCallerDeskClient({ authCode, baseUrl, deskphone: '08047112233' });
    const error = await client
      .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
  });

  it('gives up after timeoutMs with a retryable ProviderApiError without a status', async () => {
    const { baseUrl, requests } = await fakeCallerDesk(() => {
      // Never answers.
    });
    const options = { authCode, baseUrl, deskphone: '08047112233', timeoutMs: 50 };
    // The timeout runs from the call, not from when the request is written: when this process
    // does not run again within 50 ms (a loaded machine), the timeout ends the call before the
    // request left, and the server sees none. `stalled` starts each request only once the timeout
    // is over, as such a stall does: the same error.
    const stalled = createCallerDeskClient({
      ...options,
      fetch: async (input, init) => {
        const signal = init!.signal!;
        if (!signal.aborted) {
          await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        }
        return fetch(input, init);
      },
    });
    for (const client of [createCallerDeskClient(options), stalled]) {
      for (const signal of [undefined, new AbortController().signal]) {
        const error = await client
          .clickToCall({ agentNumber: '9812345678', customerNumber: '9876543210', signal })
          .catch((caught: unknown) => caught);
        expect(ProviderApiError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
        expect((error as Error).message).toContain('no answer within 50 ms');
      }
    }
    // At most one request per call (no retry): one each for the first two calls when the process
    // ran in time, which a loaded machine does not promise (exactly 2 failed then, with 0).
    expect(requests.length).toBeLessThanOrEqual(2);
    // A fraction or more than 2^32 - 1 ms: a RangeError from AbortSignal.timeout on every request.
    for (const timeoutMs of [Number.NaN, 1.5, 2 ** 32]) {
      expect(() => createCallerDeskClient({ authCode, timeoutMs })).toThrow(/timeoutMs/);
    }
  });

  it('refuses missing arguments', async () => {
    expect(() => createCallerDeskClient({ authCode: ' ' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    const client = createCallerDeskClient({ authCode, baseUrl: 'http://127.0.0.1:9' });
    for (const options of [
      { agentNumber: '9812345678', customerNumber: '9876543210' },
      { agentNumber: '', customerNumber: '9876543210', deskphone: '08047112233' },
      { agentNumber: '9812345678', customerNumber: 'abc', deskphone: '08047112233' },
      undefined,
    ]) {
      const error = await client.clickToCall(options as never).catch((caught: unknown) => caught);
      expect(CallTrackError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_argument' });
    }
  });

  it('has no end-call operation: CallerDesk documents none', () => {
    const client = createCallerDeskClient({ authCode });
    expect(Object.keys(client)).toEqual(['clickToCall']);
  });
});

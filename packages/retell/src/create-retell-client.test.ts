import type { IncomingMessage, ServerResponse } from 'node:http';
import { CallTrackError, ProviderApiError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createRetellClient } from './create-retell-client';

afterEach(closeServers);

interface Recorded {
  method: string | undefined;
  url: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** A local stand-in for api.retellai.com that records requests and answers from `respond`. */
async function fakeRetell(
  respond: (request: Recorded, response: ServerResponse) => void = defaultRespond,
) {
  const requests: Recorded[] = [];
  const baseUrl = await listen(async (request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const recorded = {
      method: request.method,
      url: request.url,
      authorization: request.headers.authorization,
      contentType: request.headers['content-type'],
      body,
    };
    requests.push(recorded);
    respond(recorded, response);
  });
  return { baseUrl, requests };
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function defaultRespond(request: Recorded, response: ServerResponse) {
  if (request.authorization !== 'Bearer key_test') {
    json(response, 401, { status: 'error', message: 'Invalid API key' });
    return;
  }
  if (request.method === 'POST' && request.url === '/v2/create-phone-call') {
    const body = JSON.parse(request.body);
    json(response, 201, {
      call_type: 'phone_call',
      call_id: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
      agent_id: body.override_agent_id ?? 'oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD',
      agent_version: 1,
      call_status: 'registered',
      direction: 'outbound',
      from_number: body.from_number,
      to_number: body.to_number,
      metadata: body.metadata,
    });
    return;
  }
  if (request.method === 'POST' && request.url?.startsWith('/v2/stop-call/')) {
    response.writeHead(204);
    response.end();
    return;
  }
  json(response, 404, { status: 'error', message: 'Not found' });
}

describe('createRetellClient', () => {
  it('places a call with POST /v2/create-phone-call', async () => {
    const { baseUrl, requests } = await fakeRetell();
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const call = await client.placeCall({
      from: '+14157774444',
      to: '+12137774445',
      agentId: 'agent_override',
      agentVersion: 4,
      metadata: { leadId: 'lead_1029' },
      dynamicVariables: { customer_name: 'José' },
      customSipHeaders: { 'X-Lead': 'lead_1029' },
    });
    expect(call).toMatchObject({
      callId: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
      agentId: 'agent_override',
      status: 'queued',
      providerStatus: 'registered',
      direction: 'outbound',
      from: '+14157774444',
      to: '+12137774445',
    });
    expect(call.response).toMatchObject({ call_type: 'phone_call', agent_version: 1 });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/v2/create-phone-call',
      authorization: 'Bearer key_test',
      contentType: 'application/json',
    });
    expect(JSON.parse(requests[0]!.body)).toEqual({
      from_number: '+14157774444',
      to_number: '+12137774445',
      override_agent_id: 'agent_override',
      override_agent_version: 4,
      metadata: { leadId: 'lead_1029' },
      retell_llm_dynamic_variables: { customer_name: 'José' },
      custom_sip_headers: { 'X-Lead': 'lead_1029' },
    });
  });

  it('sends only the fields given', async () => {
    const { baseUrl, requests } = await fakeRetell();
    const client = createRetellClient({ apiKey: 'key_test', baseUrl: `${baseUrl}/` });
    await client.placeCall({ from: '+14157774444', to: '+12137774445' });
    expect(JSON.parse(requests[0]!.body)).toEqual({
      from_number: '+14157774444',
      to_number: '+12137774445',
    });
  });

  it('ends a call with POST /v2/stop-call/{call_id}', async () => {
    const { baseUrl, requests } = await fakeRetell();
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    await expect(client.endCall('call_a4441234567890777c4a4a123e6')).resolves.toBeUndefined();
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/v2/stop-call/call_a4441234567890777c4a4a123e6',
      authorization: 'Bearer key_test',
      body: '',
    });
  });

  it('escapes the call id in the path', async () => {
    const { baseUrl, requests } = await fakeRetell();
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    await client.endCall('../v2/delete-call/x');
    expect(requests[0]?.url).toBe('/v2/stop-call/..%2Fv2%2Fdelete-call%2Fx');
  });

  it('turns an error answer into a ProviderApiError with Retell’s message', async () => {
    const { baseUrl } = await fakeRetell();
    const client = createRetellClient({ apiKey: 'wrong', baseUrl });
    const error = await client
      .placeCall({ from: '+14157774444', to: '+12137774445' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      provider: 'retell',
      providerStatus: 401,
      isRetryable: false,
      status: 502,
      responseBody: '{"status":"error","message":"Invalid API key"}',
    });
    expect((error as Error).message).toContain('HTTP 401: Invalid API key');
    expect((error as Error).message).not.toContain('wrong');
  });

  it.each([
    [400, false],
    [404, false],
    [422, false],
    [408, true],
    [409, true],
    [429, true],
    [500, true],
    [503, true],
  ])('marks HTTP %i as retryable: %s', async (status, retryable) => {
    const { baseUrl } = await fakeRetell((_request, response) =>
      json(response, status, { message: `failure ${status}`, code: 'some_code' }),
    );
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const error = await client.endCall('c1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      providerStatus: status,
      providerCode: 'some_code',
      isRetryable: retryable,
    });
  });

  it('carries the Retry-After of a 429 or 503 (seconds or an HTTP date) as retryAfterSeconds', async () => {
    let answer = { status: 429, retryAfter: '7' };
    const { baseUrl } = await fakeRetell((_request, response) => {
      response.writeHead(answer.status, {
        'content-type': 'application/json',
        'retry-after': answer.retryAfter,
      });
      response.end(JSON.stringify({ message: 'Too many requests' }));
    });
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const fail = () =>
      client
        .placeCall({ from: '+14157774444', to: '+12137774445' })
        .catch((caught: unknown) => caught);
    expect(await fail()).toMatchObject({ providerStatus: 429, retryAfterSeconds: 7 });
    answer = { status: 503, retryAfter: new Date(Date.now() + 60_000).toUTCString() };
    const unavailable = (await fail()) as ProviderApiError;
    expect(unavailable.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(unavailable.retryAfterSeconds).toBeLessThanOrEqual(60);
    answer = { status: 500, retryAfter: '7' };
    expect(await fail()).toMatchObject({ providerStatus: 500, retryAfterSeconds: undefined });
  });

  it('reports a body that is not JSON', async () => {
    const { baseUrl } = await fakeRetell((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' });
      response.end('<html>Bad gateway</html>');
    });
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const error = await client.endCall('c1').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ providerStatus: 502, responseBody: '<html>Bad gateway</html>' });
  });

  it('reports a success answer without a call id', async () => {
    const { baseUrl } = await fakeRetell((_request, response) => json(response, 201, { ok: true }));
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const error = await client
      .placeCall({ from: '+14157774444', to: '+12137774445' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ providerStatus: 201, isRetryable: true }); // it may have placed the call
    expect((error as Error).message).toContain('without a call_id');
  });

  it('turns a network failure into a retryable ProviderApiError', async () => {
    const { baseUrl } = await fakeRetell();
    await closeServers(); // Nothing listens on that port any more.
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const error = await client
      .placeCall({ from: '+14157774444', to: '+12137774445' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
  });

  it('turns a connection dropped mid-answer into a ProviderApiError', async () => {
    const { baseUrl } = await fakeRetell((_request, response) => response.socket?.destroy());
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const error = await client.endCall('c1').catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ isRetryable: true });
  });

  it('gives up after timeoutMs with a retryable ProviderApiError without a status', async () => {
    const { baseUrl, requests } = await fakeRetell(() => {
      // Never answers.
    });
    const client = createRetellClient({ apiKey: 'key_test', baseUrl, timeoutMs: 50 });
    for (const attempt of [
      () => client.placeCall({ from: '+14157774444', to: '+12137774445' }),
      // A caller's own signal does not lift the timeout.
      () => client.endCall('c1', { signal: new AbortController().signal }),
    ]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(ProviderApiError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ providerStatus: undefined, isRetryable: true });
      expect((error as Error).message).toContain('no answer within 50 ms');
    }
    expect(requests).toHaveLength(2);
    // A fraction or more than 2^32 - 1 ms: a RangeError from AbortSignal.timeout on every request.
    for (const timeoutMs of [0, 1.5, 2 ** 32]) {
      expect(() => createRetellClient({ apiKey: 'key_test', timeoutMs })).toThrow(/timeoutMs/);
    }
  });

  it('can be aborted', async () => {
    const { baseUrl } = await fakeRetell(() => {
      // Never answers.
    });
    const client = createRetellClient({ apiKey: 'key_test', baseUrl });
    const controller = new AbortController();
    const pending = client
      .endCall('c1', { signal: controller.signal })
      .catch((caught: unknown) => caught);
    controller.abort();
    expect(ProviderApiError.isInstance(await pending)).toBe(true);
  });

  it('refuses missing arguments', async () => {
    expect(() => createRetellClient({ apiKey: '' })).toThrow(
      expect.objectContaining({ code: 'invalid_argument' }),
    );
    const client = createRetellClient({ apiKey: 'key_test', baseUrl: 'http://127.0.0.1:9' });
    for (const attempt of [
      client.placeCall({ from: '', to: '+12137774445' }),
      client.placeCall(undefined as never),
      client.endCall(''),
    ]) {
      const error = await attempt.catch((caught: unknown) => caught);
      expect(CallTrackError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'invalid_argument' });
    }
  });
});

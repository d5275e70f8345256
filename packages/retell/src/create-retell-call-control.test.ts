import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, ProviderApiError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createRetellCallControl } from './create-retell-call-control';
import { createRetellClient } from './create-retell-client';

afterEach(closeServers);

interface Recorded {
  url: string;
  body: string;
}

/** A loopback stand-in for api.retellai.com: create-phone-call answers 201, stop-call 204. */
async function retellApi(answer?: (recorded: Recorded) => { status: number; body?: unknown }) {
  const requests: Recorded[] = [];
  const baseUrl = await listen(async (request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    const recorded = { url: request.url ?? '', body };
    requests.push(recorded);
    const custom = answer?.(recorded);
    if (custom !== undefined) {
      response.writeHead(custom.status, { 'content-type': 'application/json' });
      response.end(custom.body === undefined ? '' : JSON.stringify(custom.body));
      return;
    }
    if (recorded.url === '/v2/create-phone-call') {
      const sent = JSON.parse(body);
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          call_type: 'phone_call',
          call_id: 'call_5f1e0d',
          agent_id: sent.override_agent_id ?? 'agent_default',
          call_status: 'registered',
          direction: 'outbound',
          from_number: sent.from_number,
          to_number: sent.to_number,
          metadata: sent.metadata,
        }),
      );
      return;
    }
    response.writeHead(204);
    response.end();
  });
  return { client: createRetellClient({ apiKey: 'key_test', baseUrl }), requests };
}

describe('createRetellCallControl', () => {
  it('places a call whose metadata carries the tenant and the reference', async () => {
    const { client, requests } = await retellApi();
    const control = createRetellCallControl({
      client,
      from: '+14155550110',
      agentId: 'agent_sales',
      agentVersion: 3,
      metadata: (request) => ({ source: 'console', tenantId: 'spoofed', to: request.to }),
      dynamicVariables: (request) => ({ tenant: request.tenantId }),
    });
    expect(control.provider).toBe('retell');
    const placed = await control.placeCall({
      tenantId: 'acme',
      to: '+14155550123',
      reference: 'req-7',
    });
    expect(placed).toEqual({ provider: 'retell', callId: 'call_5f1e0d', reference: 'req-7' });
    expect(requests[0]!.url).toBe('/v2/create-phone-call');
    expect(JSON.parse(requests[0]!.body)).toEqual({
      from_number: '+14155550110',
      to_number: '+14155550123',
      override_agent_id: 'agent_sales',
      override_agent_version: 3,
      // The adapter's own fields win over the app's metadata.
      metadata: { source: 'console', to: '+14155550123', tenantId: 'acme', reference: 'req-7' },
      retell_llm_dynamic_variables: { tenant: 'acme' },
    });
  });

  it('prefers the request’s from number and leaves out what is not configured', async () => {
    const { client, requests } = await retellApi();
    const control = createRetellCallControl({ client, metadata: { campaign: 'spring' } });
    await control.placeCall({ tenantId: 'acme', to: '+14155550123', from: '+14155550111' });
    expect(JSON.parse(requests[0]!.body)).toEqual({
      from_number: '+14155550111',
      to_number: '+14155550123',
      metadata: { campaign: 'spring', tenantId: 'acme' },
    });
  });

  it('refuses requests it cannot send before anything reaches Retell', async () => {
    const { client, requests } = await retellApi();
    const control = createRetellCallControl({ client });
    await expect(control.placeCall({ tenantId: 'acme', to: '+14155550123' })).rejects.toThrow(
      /no "from" number/,
    );
    await expect(
      control.placeCall({ tenantId: '', to: '+14155550123', from: '+14155550110' }),
    ).rejects.toThrow(InvalidArgumentError);
    expect(requests).toHaveLength(0);
    expect(() => createRetellCallControl({ client: {} as never })).toThrow(InvalidArgumentError);
  });

  it('passes refusals and failures on as ProviderApiErrors', async () => {
    const { client } = await retellApi((recorded) =>
      JSON.parse(recorded.body).to_number === '+1'
        ? { status: 400, body: { status: 'error', message: 'Invalid to_number' } }
        : { status: 500, body: { status: 'error', message: 'Internal error' } },
    );
    const control = createRetellCallControl({ client, from: '+14155550110' });
    const refused = await control
      .placeCall({ tenantId: 'acme', to: '+1' })
      .catch((error: unknown) => error);
    expect(ProviderApiError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ provider: 'retell', providerStatus: 400, isRetryable: false });
    await expect(control.placeCall({ tenantId: 'acme', to: '+14155550123' })).rejects.toMatchObject(
      { providerStatus: 500, isRetryable: true },
    );
  });

  it('stops a call with POST /v2/stop-call/{call_id}', async () => {
    const { client, requests } = await retellApi();
    const control = createRetellCallControl({ client });
    await control.terminateCall('call_5f1e0d');
    expect(requests[0]!.url).toBe('/v2/stop-call/call_5f1e0d');
  });
});

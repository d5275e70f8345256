import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, ProviderApiError, UnsupportedOperationError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createCallerDeskCallControl } from './create-callerdesk-call-control';
import { createCallerDeskClient } from './create-callerdesk-client';

afterEach(closeServers);

/** A loopback stand-in for CallerDesk's click-to-call API (refusals are HTTP 200 `type: error`). */
async function callerDeskApi(answer?: (query: URLSearchParams) => Record<string, unknown>) {
  const queries: URLSearchParams[] = [];
  const baseUrl = await listen((request: IncomingMessage, response: ServerResponse) => {
    const query = new URL(request.url ?? '/', 'http://x').searchParams;
    queries.push(query);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify(
        answer?.(query) ?? {
          type: 'success',
          message: 'Call initiated successfully',
          campid: query.get('campid') ?? '48213',
        },
      ),
    );
  });
  const client = createCallerDeskClient({ authCode: 'auth-1', baseUrl, deskphone: '08041234567' });
  return { client, queries };
}

describe('createCallerDeskCallControl', () => {
  it('rings the agent first, then the customer, with the reference as campid', async () => {
    const { client, queries } = await callerDeskApi();
    const control = createCallerDeskCallControl({
      client,
      callerId: '08041234500',
      callLimit: 900,
    });
    expect(control.provider).toBe('callerdesk');
    const placed = await control.placeCall({
      tenantId: 'acme',
      to: '+919812345678',
      agentNumber: '+919900112233',
      reference: 'req-9',
    });
    // CallerDesk answered without a call id: the call links to the reference.
    expect(placed).toEqual({ provider: 'callerdesk', callId: undefined, reference: 'req-9' });
    expect(Object.fromEntries(queries[0]!)).toMatchObject({
      calling_party_a: '9900112233',
      calling_party_b: '9812345678',
      deskphone: '08041234567',
      campid: 'req-9',
      callerid: '08041234500',
      CallLimit: '900',
    });
  });

  it('uses the request’s from as the deskphone, and CallerDesk’s campid without a reference', async () => {
    const { client, queries } = await callerDeskApi();
    const control = createCallerDeskCallControl({
      client,
      from: '08041234599',
      tenantOfNumber: () => 'acme',
    });
    const placed = await control.placeCall({
      tenantId: 'acme',
      to: '+919812345678',
      agentNumber: '+919900112233',
      from: '+918041234567',
    });
    expect(placed).toEqual({ provider: 'callerdesk', callId: undefined, reference: '48213' });
    expect(queries[0]!.get('deskphone')).toBe('+918041234567');
    expect(queries[0]!.has('campid')).toBe(false);
  });

  it('places only from a virtual number of the request’s tenant (tenantOfNumber), refusing before anything is sent', async () => {
    const { client, queries } = await callerDeskApi();
    const owners: Record<string, string> = { '+918041234567': 'acme', '+918041234599': 'globex' };
    const asked: string[] = [];
    const control = createCallerDeskCallControl({
      client,
      from: '08041234599', // globex's
      tenantOfNumber: async (number) => {
        asked.push(number);
        return owners[number];
      },
    });
    const call = { tenantId: 'acme', to: '+919812345678', agentNumber: '+919900112233' };
    expect(await control.placeCall({ ...call, from: '+918041234567' })).toMatchObject({
      provider: 'callerdesk',
    });
    for (const [from, problem] of [
      ['+918041234599', /"from".*not one of this tenant’s CallerDesk virtual numbers/],
      ['+918000000000', /"from".*not one of this tenant’s CallerDesk virtual numbers/],
      [undefined, /adapter’s `from`.*not one of this tenant’s CallerDesk virtual numbers/],
    ] as const) {
      const error = await control
        .placeCall({ ...call, ...(from === undefined ? {} : { from }) })
        .catch((caught: unknown) => caught);
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ status: 400, message: expect.stringMatching(problem) });
    }
    // The lookup sees E.164, like the webhook handler's `number`, also for the national deskphone.
    expect(asked).toEqual(['+918041234567', '+918041234599', '+918000000000', '+918041234599']);
    expect(queries).toHaveLength(1);
    expect(queries[0]!.get('deskphone')).toBe('+918041234567');
  });

  it('without tenantOfNumber, places only from its own deskphone: another "from" is refused', async () => {
    const { client, queries } = await callerDeskApi();
    const control = createCallerDeskCallControl({ client, from: '08041234567' });
    const call = { tenantId: 'acme', to: '+919812345678', agentNumber: '+919900112233' };
    await control.placeCall({ ...call, from: '+91 80 4123 4567' }); // the same number
    const error = await control
      .placeCall({ ...call, from: '+918041234599' })
      .catch((caught: unknown) => caught);
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      status: 400,
      message: expect.stringMatching(/"from".*tenantOfNumber/),
    });
    expect(queries).toHaveLength(1);
  });

  it('needs the agent’s number, and refuses before anything reaches CallerDesk', async () => {
    const { client, queries } = await callerDeskApi();
    const control = createCallerDeskCallControl({ client });
    await expect(control.placeCall({ tenantId: 'acme', to: '+919812345678' })).rejects.toThrow(
      /agentNumber/,
    );
    await expect(
      control.placeCall({ tenantId: '', to: '+919812345678', agentNumber: '+919900112233' }),
    ).rejects.toThrow(InvalidArgumentError);
    expect(queries).toHaveLength(0);
  });

  it('passes CallerDesk’s refusals on as definite ProviderApiErrors', async () => {
    const { client } = await callerDeskApi(() => ({ type: 'error', message: 'Invalid member' }));
    const control = createCallerDeskCallControl({ client });
    const error = await control
      .placeCall({ tenantId: 'acme', to: '+919812345678', agentNumber: '+919900112233' })
      .catch((caught: unknown) => caught);
    expect(ProviderApiError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ provider: 'callerdesk', isRetryable: false });
  });

  it('cannot end a call: terminateCall rejects with a 501', async () => {
    const { client, queries } = await callerDeskApi();
    const control = createCallerDeskCallControl({ client });
    const error = await control
      .terminateCall('1714642205.962310')
      .catch((caught: unknown) => caught);
    expect(UnsupportedOperationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 501, code: 'unsupported_operation' });
    expect(queries).toHaveLength(0);
  });
});

import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidArgumentError, ProviderApiError } from '@calltrack/core';
import { closeServers, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { createTwilioCallControl } from './create-twilio-call-control';
import { createTwilioClient } from './create-twilio-client';

const accountSid = 'AC0123456789abcdef0123456789abcdef';
const authToken = 'secret-token';
const callSid = 'CAf0e1d2c3b4a5968778695a4b3c2d1e0f';

interface Recorded {
  path: string;
  form: URLSearchParams;
}

afterEach(closeServers);

/**
 * A loopback server answering the Calls API the way Twilio does; `answer` overrides the answer to
 * a request (status and JSON body).
 */
async function twilioApi(answer?: (recorded: Recorded) => { status: number; body: unknown }) {
  const requests: Recorded[] = [];
  const baseUrl = await listen((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded = {
        path: request.url ?? '',
        form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')),
      };
      requests.push(recorded);
      const { status, body } = answer?.(recorded) ?? {
        status: recorded.path.endsWith('/Calls.json') ? 201 : 200,
        body: { sid: callSid, status: recorded.form.get('Status') ?? 'queued' },
      };
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    });
  });
  const client = createTwilioClient({ accountSid, authToken, baseUrl });
  return { client, requests };
}

const twilioError = (status: number, code: number, message: string) => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

describe('createTwilioCallControl', () => {
  it('places a call whose callbacks name the tenant and the reference, with every status event', async () => {
    const { client, requests } = await twilioApi();
    const control = createTwilioCallControl({
      client,
      from: '+14155550100',
      statusCallbackUrl: 'https://hooks.example.com/webhooks/twilio?app=1',
    });
    expect(control.provider).toBe('twilio');
    const placed = await control.placeCall({
      tenantId: 'acme',
      to: '+14155550123',
      agentNumber: '+14155550142',
      reference: 'req-1',
    });
    expect(placed).toEqual({ provider: 'twilio', callId: callSid, reference: 'req-1' });
    const form = requests[0]!.form;
    expect(requests[0]!.path).toBe(`/2010-04-01/Accounts/${accountSid}/Calls.json`);
    expect(form.get('To')).toBe('+14155550123');
    expect(form.get('From')).toBe('+14155550100');
    expect(form.get('StatusCallback')).toBe(
      'https://hooks.example.com/webhooks/twilio?app=1&tenant=acme&reference=req-1',
    );
    expect(form.getAll('StatusCallbackEvent')).toEqual([
      'initiated',
      'ringing',
      'answered',
      'completed',
    ]);
    expect(form.get('Twiml')).toBe(
      '<Response><Dial callerId="+14155550100"><Number>+14155550142</Number></Dial></Response>',
    );
    expect(form.has('MachineDetection')).toBe(false);
    expect(form.has('Record')).toBe(false);
  });

  it('sends machine detection and recording callbacks to the same URL, and the request’s own from', async () => {
    const { client, requests } = await twilioApi();
    const control = createTwilioCallControl({
      client,
      statusCallbackUrl: 'https://hooks.example.com/webhooks/twilio',
      answer: { url: 'https://app.example.com/twiml/outbound' },
      machineDetection: 'DetectMessageEnd',
      machineDetectionTimeoutSeconds: 20,
      record: true,
      ringTimeoutSeconds: 25,
      timeLimitSeconds: 600,
    });
    await control.placeCall({ tenantId: 'acme', to: '+14155550123', from: '+14155550101' });
    const form = Object.fromEntries(requests[0]!.form);
    const callback = 'https://hooks.example.com/webhooks/twilio?tenant=acme';
    expect(form).toMatchObject({
      From: '+14155550101',
      Url: 'https://app.example.com/twiml/outbound',
      StatusCallback: callback,
      MachineDetection: 'DetectMessageEnd',
      MachineDetectionTimeout: '20',
      AsyncAmd: 'true',
      AsyncAmdStatusCallback: callback,
      Record: 'true',
      RecordingStatusCallback: callback,
      RecordingStatusCallbackEvent: 'completed',
      Timeout: '25',
      TimeLimit: '600',
    });
    expect(form.Twiml).toBeUndefined();
  });

  it('takes the callback URL and the instructions from functions of the request', async () => {
    const { client, requests } = await twilioApi();
    const control = createTwilioCallControl({
      client,
      from: '+14155550100',
      statusCallbackUrl: (request) => `https://${request.tenantId}.example.com/twilio`,
      answer: (request) => ({ twiml: `<Response><Say>${request.tenantId}</Say></Response>` }),
    });
    await control.placeCall({ tenantId: 'acme', to: '+14155550123', reference: 'r' });
    expect(requests[0]!.form.get('StatusCallback')).toBe('https://acme.example.com/twilio');
    expect(requests[0]!.form.get('Twiml')).toBe('<Response><Say>acme</Say></Response>');
  });

  it('refuses requests it cannot send before anything reaches Twilio', async () => {
    const { client, requests } = await twilioApi();
    const noFrom = createTwilioCallControl({
      client,
      statusCallbackUrl: 'https://hooks.example.com/twilio',
    });
    await expect(
      noFrom.placeCall({ tenantId: 'acme', to: '+14155550123', agentNumber: '+14155550142' }),
    ).rejects.toThrow(/no "from" number/);
    const control = createTwilioCallControl({
      client,
      from: '+14155550100',
      statusCallbackUrl: 'https://hooks.example.com/twilio',
    });
    await expect(control.placeCall({ tenantId: 'acme', to: '+14155550123' })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(control.placeCall({ tenantId: '', to: '+1' })).rejects.toThrow(/tenantId/);
    expect(requests).toHaveLength(0);
    expect(() =>
      createTwilioCallControl({ client, statusCallbackUrl: 'ftp://example.com/twilio' }),
    ).toThrow(/absolute http/);
    expect(() => createTwilioCallControl({} as never)).toThrow(InvalidArgumentError);
  });

  it('passes Twilio’s refusals and failures on as ProviderApiErrors', async () => {
    const { client } = await twilioApi((recorded) =>
      recorded.form.get('To') === '+15005550001'
        ? twilioError(400, 21211, "Invalid 'To' Phone Number")
        : twilioError(503, 20503, 'Service unavailable'),
    );
    const control = createTwilioCallControl({
      client,
      from: '+14155550100',
      statusCallbackUrl: 'https://hooks.example.com/twilio',
      answer: { url: 'https://app.example.com/twiml' },
    });
    const refused = await control
      .placeCall({ tenantId: 'acme', to: '+15005550001' })
      .catch((error: unknown) => error);
    expect(ProviderApiError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ providerStatus: 400, providerCode: 21211, isRetryable: false });
    const failed = await control
      .placeCall({ tenantId: 'acme', to: '+15005550002' })
      .catch((error: unknown) => error);
    expect(failed).toMatchObject({ providerStatus: 503, isRetryable: true });
  });

  it('hangs up with Status=completed; a call that already ended is not an error', async () => {
    const ended = 'CA00000000000000000000000000000001';
    const { client, requests } = await twilioApi((recorded) => {
      if (recorded.path.includes(ended)) {
        return twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.');
      }
      if (recorded.path.includes('CA404')) {
        return twilioError(404, 20404, 'The requested resource was not found');
      }
      return { status: 200, body: { sid: callSid, status: 'completed' } };
    });
    const control = createTwilioCallControl({
      client,
      statusCallbackUrl: 'https://hooks.example.com/twilio',
    });
    await control.terminateCall(callSid);
    expect(requests[0]!.path).toBe(`/2010-04-01/Accounts/${accountSid}/Calls/${callSid}.json`);
    expect(Object.fromEntries(requests[0]!.form)).toEqual({ Status: 'completed' });
    await expect(control.terminateCall(ended)).resolves.toBeUndefined();
    await expect(control.terminateCall('CA404')).rejects.toMatchObject({
      providerStatus: 404,
      providerCode: 20404,
    });
  });
});

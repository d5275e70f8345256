import { createCallerDeskCallControl, createCallerDeskClient } from '@calltrack/callerdesk';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { demoCredentials } from '@calltrack/simulator';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallControlApp, startCallControlApp } from './__tests__/start-call-control-app';

/**
 * A provider placed the call (2xx) but its answer could not be read: a proxy in between swapped
 * the body, or the connection dropped mid-body. `retryable: false` says "the provider did
 * nothing", and a user would place the call again under a new requestId: the customer would be
 * called twice. So this is the ambiguous answer, 502 `provider_unavailable`, `retryable: true`.
 */

const apps: CallControlApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Real fetch to the simulated provider, then the success answer's body is replaced. */
const garbling =
  (mode: 'html' | 'cut'): typeof fetch =>
  async (input, init) => {
    const real = await fetch(input, init);
    await real.text(); // the provider did its work (the call exists)
    if (!real.ok) return real;
    if (mode === 'html') {
      return new Response('<html><body>OK</body></html>', {
        status: real.status,
        headers: { 'content-type': 'text/html' },
      });
    }
    // The body breaks off mid-way.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"sid":"CA'));
        controller.error(new Error('socket hang up'));
      },
    });
    return new Response(body, { status: real.status });
  };

let counter = 0;
const rid = () => `unreadable-${process.pid}-${++counter}`;

const ambiguous = (providerStatus: number) => ({
  status: 502,
  body: { error: { code: 'provider_unavailable', retryable: true, providerStatus } },
});

describe('an unreadable 2xx answer from a provider', () => {
  for (const mode of ['html', 'cut'] as const) {
    it(`Twilio (${mode}): a placed call is an ambiguous answer, never "refused"`, async () => {
      const app = await startCallControlApp({ providerApi: { outcome: 'busy' } });
      apps.push(app);
      const twilio = createTwilioCallControl({
        client: createTwilioClient({
          accountSid: demoCredentials.twilioAccountSid,
          authToken: demoCredentials.twilioAuthToken,
          baseUrl: app.providerApi.url!,
          fetch: garbling(mode),
        }),
        from: '+14155550100',
        statusCallbackUrl: `${app.url}/webhooks/twilio`,
        answer: { url: 'https://app.example.com/twiml' },
      });
      const url = await app.addApi({ callControl: { twilio } });
      const answer = await app.api('/api/calls', {
        base: url,
        body: { provider: 'twilio', to: '+14155550123', requestId: rid() },
      });
      expect(app.providerApi.countCalls()).toBe(1); // the call exists at the provider
      expect(answer).toMatchObject(ambiguous(201));
    });
  }

  it('Retell: a placed call is an ambiguous answer, never "refused"', async () => {
    const app = await startCallControlApp({ providerApi: { outcome: 'busy' } });
    apps.push(app);
    const retell = createRetellCallControl({
      client: createRetellClient({
        apiKey: demoCredentials.retellApiKey,
        baseUrl: app.providerApi.url!,
        fetch: garbling('html'),
      }),
      from: '+14155550110',
    });
    const url = await app.addApi({ callControl: { retell } });
    const answer = await app.api('/api/calls', {
      base: url,
      body: { provider: 'retell', to: '+14155550123', requestId: rid() },
    });
    expect(app.providerApi.countCalls()).toBe(1);
    expect(answer).toMatchObject(ambiguous(201));
  });

  it('CallerDesk: a placed call is an ambiguous answer, never "refused"', async () => {
    const app = await startCallControlApp({ providerApi: { outcome: 'busy' } });
    apps.push(app);
    const callerdesk = createCallerDeskCallControl({
      client: createCallerDeskClient({
        authCode: demoCredentials.callerDeskAuthCode,
        baseUrl: app.providerApi.url!,
        fetch: garbling('html'),
      }),
      from: '08041234567',
    });
    const url = await app.addApi({ callControl: { callerdesk } });
    const answer = await app.api('/api/calls', {
      base: url,
      body: {
        provider: 'callerdesk',
        to: '+919812345678',
        agentNumber: '+919900112233',
        requestId: rid(),
      },
    });
    expect(app.providerApi.countCalls()).toBe(1);
    expect(answer).toMatchObject(ambiguous(200));
  });
});

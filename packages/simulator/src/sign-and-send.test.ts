import { createCallerDeskWebhookHandler } from '@calltrack/callerdesk';
import { createRetellWebhookHandler, verifyRetellSignature } from '@calltrack/retell';
import { createCollectingSink } from '@calltrack/test-utils';
import { createTwilioWebhookHandler, verifyTwilioSignature } from '@calltrack/twilio';
import { describe, expect, it } from 'vitest';
import { createCallScript } from './create-call-script';
import { demoCredentials } from './demo-credentials';
import { demoLines } from './demo-lines';
import { createSignedRequest } from './sign-and-send';

const lineOf = (provider: string) => demoLines.find((line) => line.provider === provider)!;
const tenant = () => ({ tenantId: 'demo' });

describe('createSignedRequest', () => {
  it('signs Twilio webhooks over the URL (with its query) and the form parameters', async () => {
    const script = createCallScript({ line: lineOf('twilio'), outcome: 'voicemail', seed: 2 });
    const sink = createCollectingSink();
    const handler = createTwilioWebhookHandler({
      authToken: demoCredentials.twilioAuthToken,
      sink,
      resolveTenant: tenant,
    });
    for (const webhook of script.webhooks) {
      const request = createSignedRequest(webhook, {
        url: 'https://hooks.example.com/twilio?env=demo',
        credentials: demoCredentials,
      });
      expect(request.method).toBe('POST');
      expect(request.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
      const body = await request.clone().text();
      expect(
        verifyTwilioSignature({
          authToken: demoCredentials.twilioAuthToken,
          url: request.url,
          signature: request.headers.get('x-twilio-signature')!,
          params: new URLSearchParams(body),
        }),
      ).toBe(true);
      if (webhook.query) expect(new URL(request.url).searchParams.get('tenant')).toBe('demo');
      expect((await handler(request)).status).toBe(200);
    }
    expect(sink.events.filter((event) => event.type === 'call.ended')).toHaveLength(1);
  });

  it('signs Retell webhooks at the given time with the API key', async () => {
    const script = createCallScript({ line: lineOf('retell'), outcome: 'completed', seed: 3 });
    const now = Date.now();
    const sink = createCollectingSink();
    const handler = createRetellWebhookHandler({
      apiKey: demoCredentials.retellApiKey,
      sink,
      resolveTenant: tenant,
    });
    for (const webhook of script.webhooks) {
      const request = createSignedRequest(webhook, {
        url: 'http://localhost:3000/webhooks/retell',
        credentials: demoCredentials,
        now,
      });
      const signature = request.headers.get('x-retell-signature')!;
      expect(signature).toMatch(new RegExp(`^v=${now},d=[0-9a-f]{64}$`));
      const body = await request.clone().text();
      expect(
        verifyRetellSignature({ apiKey: demoCredentials.retellApiKey, body, signature, now }),
      ).toBe(true);
      expect(verifyRetellSignature({ apiKey: 'another-key', body, signature, now })).toBe(false);
      expect((await handler(request)).status).toBe(200);
    }
    // Signed too long ago: Retell's five minutes are over.
    const stale = createSignedRequest(script.webhooks[0]!, {
      url: 'http://localhost:3000/webhooks/retell',
      credentials: demoCredentials,
      now: now - 10 * 60_000,
    });
    expect((await handler(stale)).status).toBe(403);
  });

  it('puts the CallerDesk token in the query, the fields in a JSON body or the query', async () => {
    const script = createCallScript({ line: lineOf('callerdesk'), outcome: 'completed', seed: 4 });
    const sink = createCollectingSink();
    const handler = createCallerDeskWebhookHandler({
      token: demoCredentials.callerDeskToken,
      sink,
      resolveTenant: tenant,
    });
    const [first, ...rest] = script.webhooks;
    const get = createSignedRequest(first!, {
      url: 'http://localhost/webhooks/callerdesk',
      credentials: demoCredentials,
      callerDeskMethod: 'GET',
    });
    const url = new URL(get.url);
    expect(get.method).toBe('GET');
    expect(url.searchParams.get('token')).toBe(demoCredentials.callerDeskToken);
    expect(url.searchParams.get('DestinationNumber')).toBe('08041234567');
    expect((await handler(get)).status).toBe(200);
    for (const webhook of rest) {
      const post = createSignedRequest(webhook, {
        url: 'http://localhost/webhooks/callerdesk',
        credentials: demoCredentials,
      });
      expect(post.method).toBe('POST');
      expect(new URL(post.url).searchParams.get('token')).toBe(demoCredentials.callerDeskToken);
      expect(JSON.parse(await post.clone().text())).toEqual(
        webhook.payload.type === 'fields' ? webhook.payload.fields : undefined,
      );
      expect((await handler(post)).status).toBe(200);
    }
    expect(sink.events.find((event) => event.type === 'call.ended')?.status).toBe('completed');
  });
});

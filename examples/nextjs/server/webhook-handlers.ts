import { createCallerDeskWebhookHandler } from '@calltrack/callerdesk';
import { CallTrackError, type FetchHandler } from '@calltrack/core';
import { createRetellWebhookHandler } from '@calltrack/retell';
import { demoCredentials } from '@calltrack/simulator';
import { createTwilioWebhookHandler } from '@calltrack/twilio';
import { getCallTrackServer } from './calltrack-server';
import { resolveDemoTenant, tenantFromUrl, tenantOfKnownCall } from './resolve-demo-tenant';

/** The providers this app takes webhooks from: `/api/webhooks/<provider>`. */
export type WebhookProvider = 'twilio' | 'retell' | 'callerdesk';

// Created on first use. The handlers themselves are cheap and may be re-created on a hot
// reload; what they share, the tracker, lives on `globalThis` (see calltrack-server).
let handlers: Record<WebhookProvider, FetchHandler> | undefined;

/** The fetch handler of `provider`, or undefined for a provider this app does not know. */
export function getWebhookHandler(provider: string): FetchHandler | undefined {
  handlers ??= createWebhookHandlers(process.env);
  return Object.hasOwn(handlers, provider) ? handlers[provider as WebhookProvider] : undefined;
}

/**
 * The URL as the client requested it. `next start` hands route handlers a `request.url` on its
 * own hostname (`http://localhost:3000/…`) whatever the client asked for, so a webhook sent to
 * `http://127.0.0.1:3000/…` or `http://hooks.example.com/…` would not match the URL Twilio
 * signed.
 */
function urlFromHostHeader(request: Request): URL {
  const url = new URL(request.url);
  const host = request.headers.get('host');
  if (host) url.host = host;
  return url;
}

function createWebhookHandlers(env: NodeJS.ProcessEnv): Record<WebhookProvider, FetchHandler> {
  // The sink is the tracker: it applies each event to its call, then publishes it to the bus.
  const { tracker } = getCallTrackServer();
  // 4xx answers (bad signature, unknown number) are the sender's problem; log only failures.
  const onError = (error: unknown, request: Request): void => {
    if (!CallTrackError.isInstance(error) || error.status >= 500) {
      console.error(`webhook ${new URL(request.url).pathname} failed`, error);
    }
  };
  return {
    twilio: createTwilioWebhookHandler({
      authToken: env.TWILIO_AUTH_TOKEN || demoCredentials.twilioAuthToken,
      sink: tracker,
      // The tenant's number is `To` on inbound calls and `From` on outbound ones; a customer's
      // number is never a demo line, so both are tried. Recording and AMD callbacks carry no
      // numbers: they go by `?tenant=` in the callback URL, or to the tenant that has the call.
      resolveTenant: async ({ to, from, url, callSid }) =>
        resolveDemoTenant(to, from) ??
        tenantFromUrl(url) ??
        (callSid ? await tenantOfKnownCall(tracker, callSid) : null),
      // Twilio signs the URL it requested. Behind a proxy or tunnel, set PUBLIC_URL to
      // the origin Twilio calls; otherwise the URL is rebuilt from the Host header.
      publicUrl: env.PUBLIC_URL || urlFromHostHeader,
      onError,
    }),
    retell: createRetellWebhookHandler({
      apiKey: env.RETELL_API_KEY || demoCredentials.retellApiKey,
      sink: tracker,
      resolveTenant: ({ number }) => resolveDemoTenant(number),
      onError,
    }),
    callerdesk: createCallerDeskWebhookHandler({
      token: env.CALLERDESK_TOKEN || demoCredentials.callerDeskToken,
      sink: tracker,
      resolveTenant: ({ number }) => resolveDemoTenant(number),
      onError,
    }),
  };
}

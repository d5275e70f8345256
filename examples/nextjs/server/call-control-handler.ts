import type { CallControl, FetchHandler } from '@calltrack/core';
import { createRetellCallControl, createRetellClient } from '@calltrack/retell';
import { demoCredentials } from '@calltrack/simulator';
import {
  createMemoryIdempotencyStore,
  createTrackerHandler,
  type IdempotencyStore,
} from '@calltrack/tracker';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';
import { getCallTrackServer } from './calltrack-server';
import { callbackBase } from './public-url';
import { demoTenantOf } from './trpc';

// Request ids of `POST /api/calls` must outlive a handler (one per callback base, below) and a hot
// reload: one store per process, on `globalThis` like the tracker. With REDIS_URL and several
// processes, use `createRedisIdempotencyStore` from `@calltrack/tracker/redis` instead.
const storeKey = Symbol.for('calltrack.example-nextjs.idempotency');
type GlobalWithStore = typeof globalThis & { [storeKey]?: IdempotencyStore };

// Keyed by callbackBase, which comes from the environment only: one entry in a running app.
const handlers = new Map<string, FetchHandler>();

/**
 * The tracker's call-control routes, `POST /api/calls` (click-to-call) and
 * `POST /api/calls/:callId/terminate` (hang-up), plus its read API under `/api/calls/…`.
 *
 * The providers' APIs are the simulator's (`calltrack-sim --provider-api 4010`) at
 * `PROVIDER_API_URL` (default `http://127.0.0.1:4010`) with the demo accounts; with real accounts,
 * leave the base URL out and pass your credentials. Twilio reports a placed call's progress to
 * the status callback URL: `PUBLIC_URL`, or this server on localhost (see callbackBase), never
 * a request's `Host`.
 */
export function getCallControlHandler(): FetchHandler {
  const base = callbackBase();
  let handler = handlers.get(base);
  if (handler === undefined) {
    handler = createHandler(base);
    handlers.set(base, handler);
  }
  return handler;
}

/** How many handlers exist: one per callback base, so one however many hosts ask (tests). */
export function callControlHandlerCount(): number {
  return handlers.size;
}

function createHandler(callbackBase: string): FetchHandler {
  const baseUrl = process.env.PROVIDER_API_URL || 'http://127.0.0.1:4010';
  const global = globalThis as GlobalWithStore;
  global[storeKey] ??= createMemoryIdempotencyStore();
  const callControl: Record<string, CallControl> = {
    twilio: createTwilioCallControl({
      client: createTwilioClient({
        accountSid: process.env.TWILIO_ACCOUNT_SID || demoCredentials.twilioAccountSid,
        authToken: process.env.TWILIO_AUTH_TOKEN || demoCredentials.twilioAuthToken,
        baseUrl,
        timeoutMs: 10_000,
      }),
      from: '+14155550100',
      statusCallbackUrl: `${callbackBase}/api/webhooks/twilio`,
      answer: { twiml: '<Response><Say>Connecting you to an agent.</Say></Response>' },
      machineDetection: 'Enable',
    }),
    retell: createRetellCallControl({
      client: createRetellClient({
        apiKey: process.env.RETELL_API_KEY || demoCredentials.retellApiKey,
        baseUrl,
      }),
      from: '+14155550110',
    }),
  };
  return createTrackerHandler({
    tracker: getCallTrackServer().tracker,
    basePath: '/api',
    authenticate: (request) => {
      const tenantId = demoTenantOf(request);
      return tenantId ? { tenantId } : null;
    },
    callControl,
    idempotency: { store: global[storeKey] },
  });
}

// Child process for the crash test of POST /calls: serves a tracker API whose call control is a
// Twilio adapter over the parent's simulated provider API, with its request ids on the shared
// Redis. Prints its URL; the parent kills it with SIGKILL while it is placing a call.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler } from '@calltrack/core/node';
import { demoCredentials } from '@calltrack/simulator';
import { createTwilioCallControl, createTwilioClient } from '@calltrack/twilio';
import { Redis } from 'ioredis';
import { createCallTracker } from '../create-call-tracker';
import { createRedisIdempotencyStore } from '../create-redis-idempotency-store';
import { createTrackerHandler } from '../create-tracker-handler';

const [redisUrl, prefix, providerApiUrl] = process.argv.slice(2) as [string, string, string];
const redis = new Redis(redisUrl);
const handler = createTrackerHandler({
  tracker: createCallTracker({ bus: { publish: async () => ({ duplicate: false }) } }),
  authenticate: () => ({ tenantId: 'demo' }),
  basePath: '/api',
  callControl: {
    twilio: createTwilioCallControl({
      client: createTwilioClient({
        accountSid: demoCredentials.twilioAccountSid,
        authToken: demoCredentials.twilioAuthToken,
        baseUrl: providerApiUrl,
      }),
      from: '+14155550100',
      statusCallbackUrl: 'http://127.0.0.1:9/webhooks/twilio',
      answer: { url: 'https://app.example.com/twiml' },
    }),
  },
  idempotency: { store: createRedisIdempotencyStore({ redis, prefix }) },
});
const server = createServer(toNodeHandler(handler));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});

// Runs the Express example: `tsx src/main.ts` (add `--simulate` to feed it simulated calls).
// Environment: PORT, HOST, REDIS_URL, CALLTRACK_REDIS_PREFIX, TWILIO_AUTH_TOKEN, RETELL_API_KEY,
// CALLERDESK_TOKEN, PUBLIC_URL, TWILIO_ACCOUNT_SID, RECORDING_HOSTS, SIMULATE=1, SIMULATOR_RATE, SIMULATOR_MAX_ACTIVE_CALLS (see README.md).
import type { CallControl } from '@calltrack/core';
import { Redis } from 'ioredis';
import { createDemoApp } from './create-demo-app';
import { demoLeadCalls } from './demo-leads';
import { createProviderRecordingFetcher } from './fetch-provider-recording';
import { type DemoConfig, readDemoConfig } from './read-demo-config';
import { type DemoAgentSimulation, simulateDemoAgents } from './simulate-demo-agents';
import { type DemoProviders, startDemoProviders } from './start-demo-providers';

let config: DemoConfig;
try {
  config = readDemoConfig();
} catch (error) {
  // A mistyped variable is a one-line message, not a stack trace.
  console.error((error as Error).message);
  process.exit(1);
}

let redis: Redis | undefined;
if (config.redisUrl) {
  // Fail fast while Redis is down (docs/guides/scaling-with-redis.md, "The ioredis options to
  // pass"): webhooks and API calls are answered 503 at once instead of waiting 10–40 s for
  // ioredis' reconnect attempts; the bus's own subscriber connection keeps retrying.
  redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: 2_000,
  });
  redis.on('error', (error) => console.warn(`redis: ${error.message}`));
  try {
    await redis.connect();
  } catch (error) {
    console.error(`Cannot reach Redis at ${config.redisUrl}: ${(error as Error).message}`);
    process.exit(1);
  }
}

// Click-to-call and hang-up go to the simulated providers' APIs, which start once the app listens.
let callControl: Readonly<Record<string, CallControl>> | undefined;
const demo = createDemoApp({
  credentials: config.credentials,
  ...(config.simulate
    ? {
        callControl: (_principal, provider) => callControl?.[provider],
        dialerCallControl: () => callControl?.twilio, // the leads page dials through Twilio
      }
    : {}),
  ...(config.twilioAccountSid
    ? {
        fetchRecording: createProviderRecordingFetcher(
          {
            twilio: {
              accountSid: config.twilioAccountSid,
              authToken: config.credentials.twilioAuthToken,
            },
          },
          { hosts: config.recordingHosts },
        ),
      }
    : {}),
  ...(redis ? { redis, ownsRedis: true } : {}),
  redisPrefix: config.redisPrefix,
  ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
});

// End slow senders: a request must arrive whole (headers and body) within 30 s and its headers
// within 10 s, or Node answers 408 and closes the connection. Webhook handlers refuse what they
// can from the headers before reading a body; these timeouts bound the bodies they do read.
// (Node checks them every `connectionsCheckingInterval`, 30 s by default, a createServer option.)
demo.server.requestTimeout = 30_000;
demo.server.headersTimeout = 10_000;

let url: string;
try {
  url = await demo.listen(config.port, config.host);
} catch (error) {
  console.error(`Cannot listen on port ${config.port}: ${(error as Error).message}`);
  console.error('Set PORT to use another one, e.g. PORT=3001 npm start');
  await demo.close();
  process.exit(1);
}
const port = new URL(url).port;

console.log(`\ncalltrack Express example: ${url}\n`);
console.log(
  `  backends   ${redis ? `Redis ${config.redisUrl} (prefix ${config.redisPrefix})` : 'in memory'}`,
);
console.log(`  console    ${url}/  (Socket.IO: ${url}/?transport=socket.io)`);
console.log(`  webhooks   ${url}/webhooks.html (outbound: endpoints, attempts, resend)`);
if (config.simulate) console.log(`  leads      ${url}/leads.html (the auto-dialer)`);
console.log(`  providers  POST ${url}/webhooks/twilio | /webhooks/retell | /webhooks/callerdesk`);
console.log(`  routing    POST ${url}/webhooks/twilio/voice (an available agent, or voicemail)`);
console.log(`  read API   GET  ${url}/api/calls/active, ${url}/api/calls/active/count`);
console.log(`  events     GET  ${url}/api/events (SSE)`);

let providers: DemoProviders | undefined;
let agents: DemoAgentSimulation | undefined;
if (config.simulate) {
  // Loopback: the simulator signs the URL it posts to, and the app checks that same URL.
  providers = await startDemoProviders(`http://127.0.0.1:${port}`, {
    providerApi: demoLeadCalls,
    simulator: {
      rate: config.simulatorRate,
      // Calls last minutes, as real ones do; the cap keeps the dashboard readable.
      maxActiveCalls: config.simulatorMaxActiveCalls,
      credentials: config.credentials,
      onDelivery: (delivery) => {
        if (delivery.ok || delivery.status === 0) return;
        console.warn(
          `simulator: ${delivery.provider} ${delivery.kind} answered ${delivery.status}: ${delivery.error ?? ''}`,
        );
      },
    },
  });
  callControl = providers.callControl;
  const { simulator } = providers;
  simulator.start();
  // Agents come and go on the console's presence panel, and take the inbound Twilio calls.
  agents = simulateDemoAgents({ presence: demo.presence, tenantId: 'demo' });
  await agents.start();
  console.log(
    `\nSimulating ${config.simulatorRate} calls per second (at most ${config.simulatorMaxActiveCalls} at once) over Twilio, Retell and CallerDesk.`,
  );
  const report = setInterval(async () => {
    const stats = simulator.stats;
    const count = await demo.tracker.countActiveCalls('demo').catch(() => undefined);
    console.log(
      `${new Date().toLocaleTimeString()}  ${stats.started} calls simulated, ${count?.total ?? '?'} active, ` +
        `${stats.deliveries} webhooks delivered (${stats.failedDeliveries} failed)`,
    );
  }, 30_000);
  report.unref();
}
console.log('Ctrl+C to stop.\n');

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) {
    console.log('Forced exit.');
    process.exit(1);
  }
  stopping = true;
  console.log(`\n${signal}: shutting down…`);
  try {
    await agents?.stop();
    await providers?.close();
    await demo.close();
    process.exit(0);
  } catch (error) {
    console.error(error);
    process.exit(1);
  }
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

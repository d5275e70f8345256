// `npm start`: the whole flow on in-memory backends, until the demo app arrives. A server takes
// signed Twilio status callbacks → the tracker → the bus; this script plays Twilio, sending a
// few realistic call lifecycles to it, and prints what a subscriber of the bus receives.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryBus } from '@calltrack/bus';
import { maskPhoneNumber, toNodeHandler } from '@calltrack/core';
import { createCallTracker, createTrackerHandler } from '@calltrack/tracker';
import { computeTwilioSignature, createTwilioWebhookHandler } from '@calltrack/twilio';

const authToken = 'demo-auth-token';
const accountSid = `AC${'0'.repeat(32)}`;
const bus = createMemoryBus();
const tracker = createCallTracker({ bus });
const webhook = toNodeHandler(
  createTwilioWebhookHandler({
    authToken,
    sink: tracker,
    resolveTenant: () => ({ tenantId: 'demo' }),
  }),
);
const readApi = toNodeHandler(
  createTrackerHandler({ tracker, basePath: '/api', authenticate: () => ({ tenantId: 'demo' }) }),
);
const server = createServer((request, response) =>
  request.url?.startsWith('/webhooks/twilio')
    ? webhook(request, response)
    : readApi(request, response),
);
await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 3000), resolve));
const base = `http://localhost:${(server.address() as AddressInfo).port}`;
console.log(`calltrack demo listening on ${base}`);
console.log(`  Twilio status callbacks: POST ${base}/webhooks/twilio`);
console.log(`  active calls:            GET  ${base}/api/calls/active`);
console.log('Simulating calls; Ctrl+C to stop.\n');

void (async () => {
  for await (const message of bus.subscribe({ tenantId: 'demo' })) {
    if (message.type !== 'event') continue;
    const { event } = message;
    const count = await tracker.countActiveCalls('demo');
    console.log(
      `${message.cursor.padEnd(14)} ${event.type.padEnd(14)} ${event.callId} ${maskPhoneNumber(event.to)} ` +
        `${event.status ?? ''}  (active: ${count.total})`,
    );
  }
})();

const url = `${base}/webhooks/twilio`;
async function sendStatus(
  callSid: string,
  sequence: number,
  status: string,
  extra: Record<string, string> = {},
) {
  const params = {
    AccountSid: accountSid,
    CallSid: callSid,
    CallStatus: status,
    Direction: 'outbound-api',
    From: '+14155550100',
    To: `+1415555${callSid.slice(-4)}`,
    SequenceNumber: String(sequence),
    Timestamp: new Date().toUTCString(),
    ...extra,
  };
  await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': computeTwilioSignature({ authToken, url, params }),
    },
    body: new URLSearchParams(params),
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
for (let call = 1; ; call += 1) {
  const callSid = `CA${call.toString(16).padStart(32, '0')}`;
  await sendStatus(callSid, 0, 'initiated');
  await pause(400);
  await sendStatus(callSid, 1, 'ringing');
  await pause(700);
  if (call % 4 === 0) {
    await sendStatus(callSid, 2, 'no-answer');
  } else {
    await sendStatus(callSid, 2, 'in-progress');
    await pause(1500);
    await sendStatus(callSid, 3, 'completed', { CallDuration: String(10 + call) });
  }
  await pause(500);
}

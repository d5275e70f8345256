// A server process running the Twilio webhook handler behind toNodeHandler, for tests that
// measure the server from outside: it prints `port <n>`, and answers `GET /memory` with its peak
// memory since the last `GET /memory/reset` (sampled every 5 ms, after a full GC at the reset).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { toNodeHandler } from '@calltrack/core/node';
import { createCollectingSink } from '@calltrack/test-utils';
import { createTwilioWebhookHandler } from '../create-twilio-webhook-handler';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const webhook = toNodeHandler(
  createTwilioWebhookHandler({
    authToken: 'memory-test-auth-token-0123456789',
    sink: createCollectingSink(),
    resolveTenant: () => ({ tenantId: 'acme' }),
  }),
);

let baseline = process.memoryUsage();
let peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const sample = () => {
  const now = process.memoryUsage();
  peak = {
    rss: Math.max(peak.rss, now.rss),
    heapUsed: Math.max(peak.heapUsed, now.heapUsed),
    external: Math.max(peak.external, now.external),
    arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers),
  };
};
setInterval(sample, 5).unref();

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/memory/reset') {
    gc();
    baseline = process.memoryUsage();
    peak = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
    response.end('{}');
    return;
  }
  if (request.method === 'GET' && request.url === '/memory') {
    sample();
    response.setHeader('content-type', 'application/json');
    response.end(
      JSON.stringify({
        rss: peak.rss - baseline.rss,
        heapUsed: peak.heapUsed - baseline.heapUsed,
        external: peak.external - baseline.external,
        arrayBuffers: peak.arrayBuffers - baseline.arrayBuffers,
      }),
    );
    return;
  }
  void webhook(request, response);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`port ${(server.address() as AddressInfo).port}`);
});

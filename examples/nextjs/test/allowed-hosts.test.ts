import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callControlHandlerCount } from '../server/call-control-handler';

// The demo has no login and `next start` listens on every interface: a request naming another
// host is a page of a site rebound to this machine (DNS rebinding), or a client choosing where
// Twilio reports a call. These call the route modules as `next start` would.
const calls = () => import('../app/api/calls/[[...path]]/route');
const trpc = () => import('../app/api/trpc/[trpc]/route');
const webhooks = () => import('../app/api/webhooks/[provider]/route');

/** Twilio's API as far as these tests need it: records each request's form and refuses it. */
let twilioApi: Server;
const placed: URLSearchParams[] = [];
const original = { ...process.env };
let saved = original;
beforeAll(async () => {
  twilioApi = createServer(async (request: IncomingMessage, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    placed.push(new URLSearchParams(body));
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ code: 21211, message: 'Invalid To number', status: 400 }));
  });
  await new Promise<void>((resolve) => twilioApi.listen(0, '127.0.0.1', resolve));
  // Every handler the tests create places its calls there.
  process.env.PROVIDER_API_URL = `http://127.0.0.1:${(twilioApi.address() as AddressInfo).port}`;
  saved = { ...process.env };
});
afterEach(() => {
  process.env = { ...saved };
});
afterAll(() => {
  process.env = original;
  twilioApi.close();
});

let requestNumber = 0;
/** `POST /api/calls` (click-to-call) as a client naming `host` (and `origin`, when given) sends it. */
async function placeCall(host: string, origin?: string): Promise<Response> {
  const { POST } = await calls();
  requestNumber += 1;
  return POST(
    new Request('http://localhost:3000/api/calls', {
      method: 'POST',
      headers: {
        host,
        'content-type': 'application/json',
        ...(origin === undefined ? {} : { origin }),
      },
      body: JSON.stringify({
        provider: 'twilio',
        to: '+14155550123',
        requestId: `allowed-hosts-${requestNumber}`,
      }),
    }),
  );
}

async function errorCode(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code;
}

describe('hosts the app answers to', () => {
  it('opens tRPC subscriptions with a retry of at most 1 s (the browser would wait about 3 s to resume)', async () => {
    const { GET } = await trpc();
    const controller = new AbortController();
    const stream = await GET(
      new Request('http://localhost:3000/api/trpc/calltrack.onCallEvent?input=%7B%7D', {
        headers: { host: 'localhost:3000' },
        signal: controller.signal,
      }),
    );
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const { value } = await reader.read();
    controller.abort();
    await reader.cancel().catch(() => {});
    // The first frame; the delay has jitter, up to 1 s.
    const retryMs = Number(/^retry: (\d+)\n/.exec(new TextDecoder().decode(value))?.[1]);
    expect(retryMs).toBeGreaterThan(0);
    expect(retryMs).toBeLessThanOrEqual(1000);
  });

  it('refuses a page of a site rebound to this machine: writes, the calls API, recordings and tRPC', async () => {
    const before = placed.length;
    const host = 'attacker.example:3000';
    const origin = 'http://attacker.example:3000';
    const { GET } = await calls();
    const trpcRoute = await trpc();
    const answers = [
      await placeCall(host, origin),
      await (await calls()).POST(
        new Request('http://localhost:3000/api/calls/CA-none/terminate', {
          method: 'POST',
          headers: { host, origin },
        }),
      ),
      await GET(new Request('http://localhost:3000/api/calls/active', { headers: { host } })),
      await GET(
        new Request('http://localhost:3000/api/calls/CA-none/recording', { headers: { host } }),
      ),
      await trpcRoute.GET(
        new Request('http://localhost:3000/api/trpc/campaign.leads?batch=1&input=%7B%7D', {
          headers: { host },
        }),
      ),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(await errorCode(answer)).toBe('host_not_allowed');
    }
    expect(placed.length).toBe(before);
  });

  it('answers loopback names and PUBLIC_URL’s host; the webhooks answer any host (signed, maybe tunnelled)', async () => {
    const { GET } = await calls();
    const active = (host: string) =>
      GET(new Request('http://localhost:3000/api/calls/active', { headers: { host } }));
    // A name may end with the root's dot (`localhost.`): the same host.
    for (const host of [
      'localhost:3000',
      'localhost.:3000',
      '127.0.0.1:3000',
      '[::1]:3000',
      'app.localhost:3000',
    ]) {
      expect((await active(host)).status, host).toBe(200);
    }
    expect((await active('calls.example.com')).status).toBe(403);
    process.env.PUBLIC_URL = 'https://calls.example.com/';
    expect((await active('calls.example.com')).status).toBe(200);
    expect((await active('calls.example.com:443')).status).toBe(200);
    expect((await active('calls.example.com.')).status).toBe(200);
    expect((await active('calls.example.com:3000')).status).toBe(403);
    // A LAN address listed for `next dev` (ALLOWED_DEV_ORIGINS) is one the operator opens.
    process.env.ALLOWED_DEV_ORIGINS = '192.168.1.20, phone.lan';
    expect((await active('192.168.1.20:3000')).status).toBe(200);
    expect((await active('PHONE.lan:3000')).status).toBe(200);
    expect((await active('192.168.1.21:3000')).status).toBe(403);

    const { POST } = await webhooks();
    const unsigned = await POST(
      new Request('http://localhost:3000/api/webhooks/twilio', {
        method: 'POST',
        headers: {
          host: 'abc.tunnel.example',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'CallSid=CA1',
      }),
      { params: Promise.resolve({ provider: 'twilio' }) },
    );
    expect(unsigned.status).toBe(401); // the Twilio handler answered: no signature
  });

  it('sends Twilio to PUBLIC_URL or this server, never to the host a request names', async () => {
    process.env.PORT = '4321'; // what `next start --port 4321` sets
    delete process.env.PUBLIC_URL;

    // Any client reaching the port (curl, no Origin) named the callback host.
    const before = placed.length;
    const refused = await placeCall('attacker.example:3000');
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('host_not_allowed');
    expect(placed.length).toBe(before);

    // An allowed host still does not choose it: the callbacks go to this server's own port.
    expect((await placeCall('127.0.0.2:9999')).status).toBe(422);
    const local = placed.at(-1)!;
    expect(local.get('StatusCallback')).toMatch(
      /^http:\/\/localhost:4321\/api\/webhooks\/twilio\?/,
    );
    expect(local.get('AsyncAmdStatusCallback')).toMatch(
      /^http:\/\/localhost:4321\/api\/webhooks\/twilio\?/,
    );

    process.env.PUBLIC_URL = 'https://calls.example.com/';
    expect((await placeCall('localhost:3000', 'http://localhost:3000')).status).toBe(422);
    const tunnelled = placed.at(-1)!;
    expect(tunnelled.get('StatusCallback')).toMatch(
      /^https:\/\/calls\.example\.com\/api\/webhooks\/twilio\?/,
    );
    expect(tunnelled.get('AsyncAmdStatusCallback')).toMatch(
      /^https:\/\/calls\.example\.com\/api\/webhooks\/twilio\?/,
    );
  });

  it('keeps one call-control handler however many hosts ask', async () => {
    const { GET } = await calls();
    const before = callControlHandlerCount(); // one per PUBLIC_URL and PORT the tests above set
    for (let i = 0; i < 200; i += 1) {
      const host = i % 2 === 0 ? `localhost:${3000 + i}` : `h${i}.attacker.example:3000`;
      await GET(new Request('http://localhost:3000/api/calls/active', { headers: { host } }));
    }
    expect(callControlHandlerCount() - before).toBeLessThanOrEqual(1);
  });
});

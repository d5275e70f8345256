import { request as httpRequest } from 'node:http';
import { io as connectSocket } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startConsoleApp, startDemoApp, stopDemoApps } from './__tests__/start-demo-app';

afterEach(stopDemoApps);

/** A request with the headers a browser would send (fetch does not let a test set `Host`). */
function send(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port, pathname, search } = new URL(url);
  // The path as written: URL would remove dot segments, a browser's request need not.
  const path = url.includes('/../')
    ? url.slice(url.indexOf('/', 'http://'.length))
    : pathname + search;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      { hostname, port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (answer) => {
        let body = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => {
          body += chunk;
        });
        answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

/** Whether a Socket.IO client sending `origin` gets connected. */
function socketConnects(url: string, origin: string, namespace = ''): Promise<boolean> {
  const socket = connectSocket(`${url}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { origin },
  });
  return new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  }).finally(() => socket.close());
}

describe('requests from other sites', () => {
  it('refuses writes from a page of another origin, and lets the console’s own through', async () => {
    const demo = await startConsoleApp();
    const ownOrigin = demo.url;
    // With no check, a page anywhere could hang up calls and start the dialer (202 started):
    // POST needs no body, and a no-cors fetch without one is a "simple" request.
    for (const path of ['/api/calls/CA-any/terminate', '/api/dialer/runs']) {
      const foreign = await send(`${demo.url}${path}`, {
        method: 'POST',
        headers: { origin: 'https://evil.example' },
      });
      expect(foreign.status).toBe(403);
      expect(JSON.parse(foreign.body)).toMatchObject({ error: { code: 'origin_not_allowed' } });
    }
    expect(demo.providers.providerApi.countCalls()).toBe(0);
    // Opening the SSE stream registers the user's presence: a stream, refused as writes are.
    const stream = await send(`${demo.url}/api/events?types=presence.*`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(stream.status).toBe(403);
    const own = await send(`${demo.url}/api/calls/CA-any/terminate`, {
      method: 'POST',
      headers: { origin: ownOrigin },
    });
    expect(own.status).toBe(404); // the tracker's answer: no such call
    // Reads and clients that send no Origin (curl, the providers) are not refused.
    expect(
      (await send(`${demo.url}/api/calls/active`, { headers: { origin: 'https://evil.example' } }))
        .status,
    ).toBe(200);
    expect((await send(`${demo.url}/api/calls/CA-any/terminate`, { method: 'POST' })).status).toBe(
      404,
    );
    // A no-cors fetch or an image of another origin's page sends no Origin, but the browser says
    // where it came from (Sec-Fetch-Site).
    for (const site of ['same-site', 'cross-site']) {
      const unnamed = await send(`${demo.url}/api/calls/CA-any/terminate`, {
        method: 'POST',
        headers: { 'sec-fetch-site': site },
      });
      expect(unnamed.status, site).toBe(403);
      const streamed = await send(`${demo.url}/api/events?types=presence.*`, {
        headers: { 'sec-fetch-site': site },
      });
      expect(streamed.status, site).toBe(403);
    }
    const typedIn = await send(`${demo.url}/api/calls/CA-any/terminate`, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin' },
    });
    expect(typedIn.status).toBe(404);
  });

  it('refuses a Socket.IO connection from a page of another origin, on every namespace', async () => {
    const demo = await startConsoleApp();
    // It streamed every active call, numbers unmasked, to any site the operator had open.
    expect(await socketConnects(demo.url, 'https://evil.example')).toBe(false);
    expect(await socketConnects(demo.url, 'https://evil.example', '/dialer')).toBe(false);
    expect(await socketConnects(demo.url, demo.url)).toBe(true);
    expect(await socketConnects(demo.url, demo.url, '/dialer')).toBe(true);
  });

  it('answers to loopback names only, except on the webhook routes', async () => {
    const demo = await startDemoApp();
    const { port } = new URL(demo.url);
    // A site whose name resolves to 127.0.0.1 (DNS rebinding) is same-origin with itself.
    const rebound = await send(`${demo.url}/api/calls/active`, {
      headers: { host: `evil.example:${port}` },
    });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'host_not_allowed' } });
    expect((await send(`${demo.url}/`, { headers: { host: `evil.example:${port}` } })).status).toBe(
      403,
    );
    for (const host of [
      `localhost:${port}`,
      `localhost.:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
    ]) {
      expect((await send(`${demo.url}/api/calls/active`, { headers: { host } })).status).toBe(200);
    }
    // A Host that URL reads as more than a name and a port (userinfo, a path) names another host.
    for (const host of [`evil.example@localhost:${port}`, `localhost:${port}/x`, 'localhost\\x']) {
      const named = await send(`${demo.url}/api/calls/active`, { headers: { host } });
      expect(named.status, host).toBe(403);
    }
    // Providers reach the webhooks through a tunnel under its own name: checked by signature.
    const webhook = await send(`${demo.url}/webhooks/twilio`, {
      method: 'POST',
      headers: { host: 'abc.tunnel.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'CallSid=CA1',
    });
    expect(webhook.status).toBe(401);
    // Only those routes: a path that merely starts like one is checked (static files normalize
    // dot segments).
    const dotted = await send(`${demo.url}/webhooks/../index.html`, {
      headers: { host: `evil.example:${port}` },
    });
    expect(dotted.status).toBe(403);
  });

  it('on every interface (HOST=0.0.0.0), still refuses a name rebound to this machine', async () => {
    const demo = await startConsoleApp({}, { host: '0.0.0.0' });
    const { port } = new URL(demo.url);
    const base = `http://127.0.0.1:${port}`;
    // Listening on every interface made the Host check stop: a site the operator opened, its
    // name pointed at 127.0.0.1, was its own origin (Host and Origin alike) and placed calls.
    const foreign = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` };
    const rebound = await send(`${base}/api/calls/active`, { headers: foreign });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.body)).toMatchObject({ error: { code: 'host_not_allowed' } });
    const placed = await send(`${base}/api/calls`, {
      method: 'POST',
      headers: { ...foreign, 'content-type': 'application/json' },
      body: JSON.stringify({
        provider: 'twilio',
        to: '+14155550123',
        from: '+14155550100',
        requestId: 'rebound-1',
      }),
    });
    expect(placed.status).toBe(403);
    expect(demo.providers.providerApi.countCalls()).toBe(0);
    expect(await socketConnects(base, foreign.origin)).toBe(false);
    // The addresses the app is reached on from the network (no site can name itself by one),
    // and loopback's names, still pass.
    for (const host of [`192.168.1.20:${port}`, `[fd00::20]:${port}`, `localhost:${port}`]) {
      const read = await send(`${base}/api/calls/active`, { headers: { host } });
      expect(read.status, host).toBe(200);
    }
  });

  it('answers to PUBLIC_URL’s host and origin too', async () => {
    const demo = await startDemoApp({ publicUrl: 'https://console.example' });
    const viaPublic = await send(`${demo.url}/api/calls/CA-any/terminate`, {
      method: 'POST',
      headers: { host: 'console.example', origin: 'https://console.example' },
    });
    expect(viaPublic.status).toBe(404); // past the check: the tracker knows no such call
  });
});

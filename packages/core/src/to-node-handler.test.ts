import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidSignatureError } from './errors/invalid-signature-error';
import type { FetchHandler } from './fetch-handler';
import { jsonResponse } from './json-response';
import { toNodeHandler } from './to-node-handler';

const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

const echo: FetchHandler = async (request, context) =>
  Response.json({
    method: request.method,
    url: request.url,
    body: await request.text(),
    contentType: request.headers.get('content-type'),
    clientAddress: context?.clientAddress,
  });

describe('toNodeHandler', () => {
  it('serves a fetch handler as a node:http listener', async () => {
    const base = await listen(createServer(toNodeHandler(echo)));
    const response = await fetch(`${base}/hook?a=1&b=%2B1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'CallSid=CA1',
    });
    const body = await response.json();
    expect(body).toMatchObject({
      method: 'POST',
      url: `${base}/hook?a=1&b=%2B1`,
      body: 'CallSid=CA1',
      clientAddress: '127.0.0.1',
    });
  });

  it('works as Express middleware under a mount path, keeping the full original URL', async () => {
    const app = express();
    app.use('/webhooks', toNodeHandler(echo));
    const base = await listen(createServer(app));
    const response = await fetch(`${base}/webhooks/twilio?x=1`, { method: 'POST', body: 'a=b' });
    expect((await response.json()).url).toBe(`${base}/webhooks/twilio?x=1`);
  });

  it('uses the Buffer left by express.raw() as the body', async () => {
    const app = express();
    app.post('/hook', express.raw({ type: '*/*' }), toNodeHandler(echo));
    const base = await listen(createServer(app));
    const response = await fetch(`${base}/hook`, { method: 'POST', body: '{"raw":true}' });
    expect((await response.json()).body).toBe('{"raw":true}');
  });

  it('explains the problem when express.json() already consumed the raw body', async () => {
    const app = express();
    app.post('/hook', express.json(), toNodeHandler(echo));
    app.use(
      (
        error: Error,
        _request: express.Request,
        response: express.Response,
        _next: express.NextFunction,
      ) => {
        response.status(500).json({ message: error.message });
      },
    );
    const base = await listen(createServer(app));
    const response = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(response.status).toBe(500);
    expect((await response.json()).message).toMatch(/express\.raw/);
  });

  it('streams bodies without a Content-Length, or over bufferBodyBytes, to the handler', async () => {
    const chunked = await listen(createServer(toNodeHandler(echo)));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('a=1&'));
        controller.enqueue(new TextEncoder().encode('b=2'));
        controller.close();
      },
    });
    const response = await fetch(`${chunked}/hook`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    expect((await response.json()).body).toBe('a=1&b=2');

    const small = await listen(createServer(toNodeHandler(echo, { bufferBodyBytes: 4 })));
    const large = await fetch(`${small}/hook`, { method: 'POST', body: 'longer than four bytes' });
    expect((await large.json()).body).toBe('longer than four bytes');
  });

  it('writes a jsonResponse in one piece with its length, and no body for HEAD or 204', async () => {
    const base = await listen(
      createServer(
        toNodeHandler(async (request) => {
          if (new URL(request.url).pathname === '/empty')
            return jsonResponse(null, { status: 204 });
          const response = jsonResponse(
            { hello: 'wörld' },
            { status: 201, headers: { 'x-a': '1' } },
          );
          response.headers.set('x-b', '2');
          return response;
        }),
      ),
    );
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe(
      String(Buffer.byteLength('{"hello":"wörld"}')),
    );
    expect(response.headers.get('x-a')).toBe('1');
    expect(response.headers.get('x-b')).toBe('2');
    expect(await response.json()).toEqual({ hello: 'wörld' });
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    expect(head.status).toBe(201);
    expect(await head.text()).toBe('');
    const empty = await fetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('answers a thrown CallTrackError with its status when used without next', async () => {
    const base = await listen(
      createServer(
        toNodeHandler(() => {
          throw new InvalidSignatureError({ message: 'Signature does not match.' });
        }),
      ),
    );
    const response = await fetch(`${base}/hook`, { method: 'POST', body: 'x' });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_signature', message: 'Signature does not match.' },
    });
  });

  it('does not trust X-Forwarded-* unless asked, and builds URLs from host/protocol options', async () => {
    const plain = await listen(createServer(toNodeHandler(echo)));
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
    expect((await (await fetch(`${plain}/a`, { headers })).json()).url).toBe(`${plain}/a`);

    const configured = await listen(
      createServer(toNodeHandler(echo, { host: 'api.example.com', protocol: 'https:' })),
    );
    expect((await (await fetch(`${configured}/a?b=1`)).json()).url).toBe(
      'https://api.example.com/a?b=1',
    );
  });

  it('streams a response body and aborts the request signal when the client leaves', async () => {
    let aborted!: () => void;
    const abortSeen = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    const base = await listen(
      createServer(
        toNodeHandler((request) => {
          request.signal.addEventListener('abort', () => aborted());
          const body = new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('first\n'));
            },
          });
          return new Response(body, { headers: { 'content-type': 'text/plain' } });
        }),
      ),
    );
    const controller = new AbortController();
    const response = await fetch(`${base}/stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe('first\n');
    controller.abort();
    await abortSeen;
  });
});

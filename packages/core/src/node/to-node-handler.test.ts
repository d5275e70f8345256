import { createServer, get, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendHeadersOnly } from '@calltrack/test-utils';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors/invalid-argument-error';
import { InvalidSignatureError } from '../errors/invalid-signature-error';
import { MissingSignatureError } from '../errors/missing-signature-error';
import type { FetchHandler } from '../fetch-handler';
import { jsonResponse } from '../json-response';
import { readRequestText } from '../read-request-text';
import { toErrorResponse } from '../to-error-response';
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

  it('streams bodies without a Content-Length to the handler, and large ones', async () => {
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

    const megabytes = 'x'.repeat(3 * 1024 * 1024);
    const large = await fetch(`${chunked}/hook`, { method: 'POST', body: megabytes });
    expect((await large.json()).body).toBe(megabytes);

    const streamed = await listen(
      createServer(
        toNodeHandler(async (request) => {
          let bytes = 0;
          const reader = request.body!.getReader();
          for (let read = await reader.read(); !read.done; read = await reader.read()) {
            bytes += read.value.byteLength;
          }
          return jsonResponse({ bytes });
        }),
      ),
    );
    const counted = await fetch(`${streamed}/hook`, { method: 'POST', body: megabytes });
    expect(await counted.json()).toEqual({ bytes: megabytes.length });
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

  it('builds the URL from localhost when the Host header does not form one, instead of failing', async () => {
    const base = new URL(await listen(createServer(toNodeHandler(echo))));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = get(
        {
          host: base.hostname,
          port: base.port,
          path: '/hook?x=1',
          headers: { host: 'a:b' },
          setHost: false,
        },
        (response) => {
          let body = '';
          response.on('data', (chunk) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode!, body }));
        },
      );
      request.on('error', reject);
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).url).toBe('http://localhost/hook?x=1');
  });

  it('does not trust X-Forwarded-* unless asked, and builds URLs from host/protocol options', async () => {
    const plain = await listen(createServer(toNodeHandler(echo)));
    const headers = {
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-for': '203.0.113.9',
    };
    expect(await (await fetch(`${plain}/a`, { headers })).json()).toMatchObject({
      url: `${plain}/a`,
      clientAddress: '127.0.0.1',
    });

    const proxied = await listen(createServer(toNodeHandler(echo, { trustProxy: true })));
    const forwarded = { ...headers, 'x-forwarded-for': '198.51.100.1, 203.0.113.9' };
    expect(await (await fetch(`${proxied}/a?b=1`, { headers: forwarded })).json()).toMatchObject({
      url: 'https://evil.example/a?b=1',
      // The last entry is the one the proxy added; earlier ones are what the client claimed.
      clientAddress: '203.0.113.9',
    });

    const configured = await listen(
      createServer(toNodeHandler(echo, { host: 'api.example.com', protocol: 'https:' })),
    );
    expect((await (await fetch(`${configured}/a?b=1`)).json()).url).toBe(
      'https://api.example.com/a?b=1',
    );
  });

  it("reads the proxy's X-Forwarded-* with trustProxy, never a Forwarded header the client sent", async () => {
    // What nginx or an ALB passes on: its own X-Forwarded-For, and the client's Forwarded as is.
    const headers = {
      'x-forwarded-for': '203.0.113.5',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'hooks.example.com',
      forwarded: 'for=10.9.9.9;proto=http;host=evil.example',
    };
    for (const trustProxy of [true, { header: 'x-forwarded' }] as const) {
      const proxied = await listen(createServer(toNodeHandler(echo, { trustProxy })));
      expect(await (await fetch(`${proxied}/a`, { headers })).json()).toMatchObject({
        url: 'https://hooks.example.com/a',
        clientAddress: '203.0.113.5',
      });
      // Without the proxy's headers, a client's Forwarded still counts for nothing.
      const own = { forwarded: 'for=10.9.9.9;proto=https;host=evil.example' };
      expect(await (await fetch(`${proxied}/a`, { headers: own })).json()).toMatchObject({
        url: `${proxied}/a`,
        clientAddress: '127.0.0.1',
      });
    }

    // A proxy that sets RFC 7239 Forwarded is named explicitly; then X-Forwarded-* is ignored.
    const standard = await listen(
      createServer(toNodeHandler(echo, { trustProxy: { header: 'forwarded' } })),
    );
    const appended = {
      ...headers,
      forwarded: 'for=10.9.9.9;host=evil.example, for=198.51.100.2;proto=https;host=a.example',
    };
    expect(await (await fetch(`${standard}/a`, { headers: appended })).json()).toMatchObject({
      url: 'https://a.example/a',
      clientAddress: '198.51.100.2',
    });
  });

  it('answers 501 to a method no fetch Request can carry (TRACE), not a 500, without the handler', async () => {
    let calls = 0;
    const base = await listen(
      createServer(
        toNodeHandler(async (incoming) => {
          calls += 1;
          return echo(incoming);
        }),
      ),
    );
    const { port } = new URL(base);
    const answer = await new Promise<{ status?: number; body: string }>((resolve, reject) => {
      const sent = request({ host: '127.0.0.1', port, method: 'TRACE', path: '/a' }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body }));
      });
      sent.on('error', reject);
      sent.end();
    });
    // `new Request(url, { method: 'TRACE' })` throws: the bridge answered 500 internal_error.
    expect(answer.status).toBe(501);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'unsupported_operation' } });
    expect(calls).toBe(0);
  });

  it('refuses a trustProxy it does not know when created', () => {
    for (const trustProxy of [
      'forwarded',
      { header: 'X-Forwarded-For' },
      { headers: 'forwarded' },
    ]) {
      expect(() => toNodeHandler(echo, { trustProxy: trustProxy as unknown as boolean })).toThrow(
        InvalidArgumentError,
      );
    }
  });

  it('takes protocol with or without its colon, and refuses one or a host no URL is made of when created', async () => {
    // `https` is how Express spells req.protocol; it made `https//api.example.com/a`, which no
    // Request (and no webhook handler's URL) parses: every request answered 500.
    const configured = await listen(
      createServer(toNodeHandler(echo, { host: 'api.example.com', protocol: 'https' })),
    );
    const answer = await fetch(`${configured}/a?b=1`);
    expect(answer.status).toBe(200);
    expect((await answer.json()).url).toBe('https://api.example.com/a?b=1');
    // A URL where the host goes made `http://https://hooks.example.com/a`: every signature wrong.
    for (const options of [
      { protocol: 'ftp:' },
      { protocol: 'https://' },
      { protocol: '' },
      { host: 'https://hooks.example.com' },
      { host: 'hooks.example.com/webhooks' },
      { host: '' },
      { host: 443 },
    ]) {
      expect(() => toNodeHandler(echo, options as never), JSON.stringify(options)).toThrow(
        InvalidArgumentError,
      );
    }
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

  it('reads a streamed body only while the socket has room, and delivers all of it in order', async () => {
    const chunkSize = 64 * 1024;
    const chunks = 160; // 10 MB: more than the socket buffers hold while the client waits
    let outgoing: ServerResponse | undefined;
    let pulled = 0;
    let pulledWhileFull = 0;
    let full!: () => void;
    const becameFull = new Promise<void>((resolve) => {
      full = resolve;
    });
    const listener = toNodeHandler(
      () =>
        new Response(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                if (outgoing?.writableNeedDrain) pulledWhileFull += 1;
                controller.enqueue(new Uint8Array(chunkSize).fill(pulled % 251));
                pulled += 1;
                if (pulled === chunks) controller.close();
              },
            },
            { highWaterMark: 0 },
          ),
        ),
    );
    const base = await listen(
      createServer((request, response) => {
        outgoing = response;
        // Instrumented, to let the client start reading only once the socket is full.
        const write = response.write.bind(response) as (chunk: Uint8Array) => boolean;
        response.write = ((chunk: Uint8Array) => {
          const ok = write(chunk);
          if (!ok) full();
          return ok;
        }) as typeof response.write;
        void listener(request, response);
      }),
    );
    const received = await new Promise<Buffer>((resolve, reject) => {
      get(`${base}/big`, (response) => {
        response.pause();
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('end', () => resolve(Buffer.concat(parts)));
        response.on('error', reject);
        void becameFull.then(() => response.resume());
      }).on('error', reject);
    });
    // The socket filled up long before the end, and nothing was read from the body meanwhile.
    expect(pulledWhileFull).toBe(0);
    expect(received.length).toBe(chunkSize * chunks);
    for (let index = 0; index < chunks; index += 1) {
      expect(received[index * chunkSize]).toBe(index % 251);
    }
  });

  it('cancels a streamed body when the client goes away', async () => {
    let cancelled!: (reason: unknown) => void;
    const cancel = new Promise((resolve) => {
      cancelled = resolve;
    });
    const base = await listen(
      createServer(
        toNodeHandler(
          () =>
            new Response(
              new ReadableStream<Uint8Array>({
                start(controller) {
                  controller.enqueue(new TextEncoder().encode('first\n'));
                },
                cancel: (reason) => cancelled(reason),
              }),
            ),
        ),
      ),
    );
    const controller = new AbortController();
    const response = await fetch(`${base}/stream`, { signal: controller.signal });
    const { value } = await response.body!.getReader().read();
    expect(new TextDecoder().decode(value)).toBe('first\n');
    controller.abort();
    await cancel;
  });

  it('aborts the signal of a request whose client left before the handler asked for it', async () => {
    let socketClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      socketClosed = resolve;
    });
    let requestArrived!: () => void;
    const arrived = new Promise<void>((resolve) => {
      requestArrived = resolve;
    });
    let seen!: (aborted: boolean) => void;
    const result = new Promise<boolean>((resolve) => {
      seen = resolve;
    });
    const server = createServer(
      toNodeHandler(async (request) => {
        requestArrived();
        await closed;
        seen(request.signal.aborted);
        return jsonResponse({});
      }),
    );
    server.on('connection', (socket) => socket.once('close', () => socketClosed()));
    const base = await listen(server);
    const controller = new AbortController();
    const pending = fetch(`${base}/slow`, { signal: controller.signal }).catch(() => undefined);
    await arrived;
    controller.abort();
    await pending;
    expect(await result).toBe(true);
  });

  describe('refuses before reading', () => {
    const signed: FetchHandler = async (request) => {
      try {
        if (request.headers.get('x-signature') === null) {
          throw new MissingSignatureError({ message: 'The x-signature header is missing.' });
        }
        return jsonResponse({ body: await readRequestText(request, { maxBytes: 1024 }) });
      } catch (error) {
        return toErrorResponse(error);
      }
    };

    it('runs the handler on the headers alone, and closes the connection of an unread body', async () => {
      const base = await listen(createServer(toNodeHandler(signed)));
      const answer = await sendHeadersOnly(`${base}/hook`, { declaredBytes: 1024 * 1024 });
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'missing_signature' } });
      expect(answer.headers.connection).toBe('close');
      expect(answer.closed).toBe(true);
    });

    it('refuses a declared length over the limit without reading, and a streamed one at the limit', async () => {
      const base = await listen(createServer(toNodeHandler(signed)));
      const declared = await sendHeadersOnly(`${base}/hook`, {
        headers: { 'x-signature': 'present' },
        declaredBytes: 4096,
      });
      expect(declared.status).toBe(413);
      expect(declared.closed).toBe(true);

      const chunk = new TextEncoder().encode('x'.repeat(512));
      let sent = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += chunk.byteLength;
          // Far more than the limit if the server kept reading: it must stop at 1 KiB.
          if (sent > 64 * 1024 * 1024) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const streamed = await fetch(`${base}/hook`, {
        method: 'POST',
        headers: { 'x-signature': 'present' },
        body: endless,
        duplex: 'half',
      } as RequestInit).catch((error: unknown) => error);
      if (streamed instanceof Response) {
        expect(streamed.status).toBe(413);
        expect(streamed.headers.get('connection')).toBe('close');
      }
      expect(sent).toBeLessThan(64 * 1024 * 1024);
    });

    it('closes the connection of a refused GET that declares a body, instead of reading it', async () => {
      const getOnly: FetchHandler = async (request) =>
        request.method === 'GET'
          ? new Response(null, { status: 405, headers: { allow: 'POST' } })
          : signed(request);
      const base = await listen(createServer(toNodeHandler(getOnly)));
      const answer = await sendHeadersOnly(`${base}/hook`, {
        method: 'GET',
        declaredBytes: 1024 * 1024,
      });
      expect(answer.status).toBe(405);
      expect(answer.headers.connection).toBe('close');
      expect(answer.closed).toBe(true);
    });

    it("holds a body express.raw() already read to the handler's limit, declared or chunked", async () => {
      const app = express();
      app.post('/hook', express.raw({ type: '*/*', limit: '10mb' }), toNodeHandler(signed));
      const base = await listen(createServer(app));
      const big = 'x'.repeat(8000);
      const declared = await fetch(`${base}/hook`, {
        method: 'POST',
        headers: { 'x-signature': 'present', 'content-type': 'text/plain' },
        body: big,
      });
      expect(declared.status).toBe(413);
      const chunked = await fetch(`${base}/hook`, {
        method: 'POST',
        headers: { 'x-signature': 'present', 'content-type': 'text/plain' },
        body: new Blob([big]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const small = await fetch(`${base}/hook`, {
        method: 'POST',
        headers: { 'x-signature': 'present', 'content-type': 'text/plain' },
        body: 'hello',
      });
      expect(await small.json()).toEqual({ body: 'hello' });
    });

    it('keeps the connection of a request it answered after reading the body', async () => {
      const base = await listen(createServer(toNodeHandler(signed)));
      const response = await fetch(`${base}/hook`, {
        method: 'POST',
        headers: { 'x-signature': 'present' },
        body: 'hello',
      });
      expect(await response.json()).toEqual({ body: 'hello' });
      expect(response.headers.get('connection')).not.toBe('close');
    });
  });
});

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServers, listen, sendHeadersOnly } from '@calltrack/test-utils';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncomingWebhookEndpoint } from '../create-webhook-endpoint';
import { MissingSignatureError } from '../errors/missing-signature-error';
import type { IncomingWebhook } from '../incoming-webhook';
import { NodeIncomingWebhook } from './node-incoming-webhook';
import { toNodeHandler } from './to-node-handler';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await closeServers();
});

/** An endpoint that refuses without `x-signature`, then echoes what it read. */
function signedEcho(onIncoming: (incoming: IncomingWebhook) => void = () => {}) {
  const errors: { error: unknown; request: Request }[] = [];
  const handler = createIncomingWebhookEndpoint(
    {
      provider: 'Test',
      methods: ['POST'],
      onError: (error, request) => errors.push({ error, request }),
    },
    async (incoming) => {
      onIncoming(incoming);
      if (incoming.header('x-signature') === undefined) {
        throw new MissingSignatureError({ message: 'No signature.' });
      }
      return {
        url: incoming.url,
        clientAddress: incoming.clientAddress,
        contentType: incoming.header('content-type'),
        body: await incoming.readText(1024),
      };
    },
  );
  return { handler, errors };
}

describe('toNodeHandler with a createIncomingWebhookEndpoint handler (the webhook fast path)', () => {
  it('runs the handler straight on the Node request, with the same answers as its fetch handler', async () => {
    const seen: IncomingWebhook[] = [];
    const { handler } = signedEcho((incoming) => seen.push(incoming));
    const base = await listen(toNodeHandler(handler));
    const init = {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-signature': 'yes' },
      body: 'a=1',
    };
    const response = await fetch(`${base}/hook?x=1`, init);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      url: `${base}/hook?x=1`,
      clientAddress: '127.0.0.1',
      contentType: 'text/plain',
      body: 'a=1',
    });
    expect(seen[0]).toBeInstanceOf(NodeIncomingWebhook);

    const fetched = await handler(new Request(`${base}/hook?x=1`, init), {
      clientAddress: '127.0.0.1',
    });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toEqual({
      url: `${base}/hook?x=1`,
      clientAddress: '127.0.0.1',
      contentType: 'text/plain',
      body: 'a=1',
    });
  });

  it('answers a header-only refusal at once, closes the unread body, and reports a Request', async () => {
    const { handler, errors } = signedEcho();
    const base = await listen(toNodeHandler(handler));
    const answer = await sendHeadersOnly(`${base}/hook`, { declaredBytes: 1024 * 1024 });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({
      error: { code: 'missing_signature', message: 'No signature.' },
    });
    expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
    expect(answer.closed).toBe(true);
    expect(errors[0]!.request).toBeInstanceOf(Request);
    expect(errors[0]!.request.url).toBe(`${base}/hook`);

    const wrongMethod = await sendHeadersOnly(`${base}/hook`, { method: 'PUT' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
  });

  it('refuses a declared length over the limit before reading, and a streamed one at the limit', async () => {
    const { handler } = signedEcho();
    const base = await listen(toNodeHandler(handler));
    const declared = await sendHeadersOnly(`${base}/hook`, {
      headers: { 'x-signature': 'yes' },
      declaredBytes: 4096,
    });
    expect(declared.status).toBe(413);
    expect(declared.closed).toBe(true);

    const chunk = new TextEncoder().encode('x'.repeat(512));
    const streamed = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'x-signature': 'yes' },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('answers 400 for a body that is not UTF-8', async () => {
    const { handler } = signedEcho();
    const base = await listen(toNodeHandler(handler));
    const response = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'x-signature': 'yes' },
      body: new Uint8Array([0xff, 0xfe, 0x41]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_payload' } });
  });

  it('builds the Request only when asked: after the body was read it is used, before it reads it', async () => {
    const requests: Request[] = [];
    const after = createIncomingWebhookEndpoint(
      { provider: 'Test', methods: ['POST'] },
      async (incoming) => {
        const text = await incoming.readText(1024);
        requests.push(incoming.request);
        return { text, method: incoming.request.method, bodyUsed: incoming.request.bodyUsed };
      },
    );
    const afterBase = await listen(toNodeHandler(after));
    const response = await fetch(`${afterBase}/hook`, {
      method: 'POST',
      headers: { 'x-custom': 'one' },
      body: 'hello',
    });
    expect(await response.json()).toEqual({ text: 'hello', method: 'POST', bodyUsed: true });
    expect(requests[0]!.headers.get('x-custom')).toBe('one');
    await expect(requests[0]!.text()).rejects.toThrow(TypeError);

    const before = createIncomingWebhookEndpoint(
      { provider: 'Test', methods: ['POST'] },
      async (incoming) => {
        const request = incoming.request;
        return { text: await incoming.readText(1024), bodyUsed: request.bodyUsed };
      },
    );
    const beforeBase = await listen(toNodeHandler(before));
    const read = await fetch(`${beforeBase}/hook`, { method: 'POST', body: 'hello' });
    expect(await read.json()).toEqual({ text: 'hello', bodyUsed: true });
  });

  it('gives an allowIp function the Request and the socket address', async () => {
    const asked: [string | undefined, Request][] = [];
    const handler = createIncomingWebhookEndpoint(
      {
        provider: 'Test',
        methods: ['POST'],
        allowIp: (address, request) => {
          asked.push([address, request]);
          return request.headers.get('x-allow') === 'yes';
        },
      },
      async (incoming) => ({ body: await incoming.readText(1024) }),
    );
    const base = await listen(toNodeHandler(handler));
    const refused = await fetch(`${base}/hook`, { method: 'POST', body: 'x' });
    expect(refused.status).toBe(403);
    const allowed = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'x-allow': 'yes' },
      body: 'x',
    });
    expect(await allowed.json()).toEqual({ body: 'x' });
    expect(asked.map(([address]) => address)).toEqual(['127.0.0.1', '127.0.0.1']);
    expect(asked[0]![1]).toBeInstanceOf(Request);
  });

  it('admits an allowIp entry in any IPv6 form: a client on ::1 as 0:0:0:0:0:0:0:1, one on 127.0.0.1 as ::ffff:7f00:1', async () => {
    const serve = async (host: string, allowIp: string[]) => {
      const handler = createIncomingWebhookEndpoint(
        { provider: 'Test', methods: ['POST'], allowIp },
        async (incoming) => ({ clientAddress: incoming.clientAddress }),
      );
      const server = createServer(toNodeHandler(handler));
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const { port } = server.address() as AddressInfo;
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    };
    const answer = async (base: string) => {
      const response = await fetch(`${base}/hook`, { method: 'POST', body: 'x' });
      return [response.status, await response.json()];
    };
    for (const entry of ['0:0:0:0:0:0:0:1', '0000::0001', '::1']) {
      expect(await answer(await serve('::1', [entry]))).toEqual([200, { clientAddress: '::1' }]);
    }
    for (const entry of ['::ffff:7f00:1', '::FFFF:127.0.0.1', '0:0:0:0:0:ffff:7f00:1']) {
      expect(await answer(await serve('127.0.0.1', [entry]))).toEqual([
        200,
        { clientAddress: '127.0.0.1' },
      ]);
    }
    // Another address still does not match.
    const [status] = await answer(await serve('::1', ['0:0:0:0:0:0:0:2']));
    expect(status).toBe(403);
  });

  it('takes the body express.raw() left, and answers HEAD without a body', async () => {
    const { handler } = signedEcho();
    const app = express();
    app.post('/hook', express.raw({ type: '*/*' }), toNodeHandler(handler));
    const base = await listen(app);
    const response = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'x-signature': 'yes', 'content-type': 'text/plain' },
      body: 'raw body',
    });
    expect((await response.json()).body).toBe('raw body');
    // What express.raw() read is held to the handler's own limit all the same.
    const over = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'x-signature': 'yes', 'content-type': 'text/plain' },
      body: 'x'.repeat(64 * 1024),
    });
    expect(over.status).toBe(413);

    const head = createIncomingWebhookEndpoint(
      { provider: 'Test', methods: ['HEAD'] },
      async () => ({ ok: true }),
    );
    const headBase = await listen(toNodeHandler(head));
    const answer = await fetch(`${headBase}/hook`, { method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('');
  });

  it('writes each answer to the socket in one write: status line, headers and body', async () => {
    const { handler } = signedEcho();
    const nodeHandler = toNodeHandler(handler);
    const writes: (string | Uint8Array)[] = [];
    const counted = new WeakSet<object>();
    const base = await listen((request, response) => {
      const socket = request.socket;
      if (!counted.has(socket)) {
        counted.add(socket);
        const write = socket.write;
        socket.write = function (
          this: typeof socket,
          chunk: string | Uint8Array,
          ...rest: never[]
        ) {
          writes.push(chunk);
          return write.call(this, chunk, ...rest);
        } as typeof socket.write;
      }
      void nodeHandler(request, response);
    });
    const init = {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-signature': 'yes' },
      body: 'a=1',
    };
    const answered = await fetch(`${base}/hook`, init);
    const body = await answered.text();
    const refused = await fetch(`${base}/hook`, {
      ...init,
      headers: { 'content-type': 'text/plain' },
    });
    expect(refused.status).toBe(401);
    const refusal = await refused.text();
    expect(writes).toHaveLength(2);
    expect(String(writes[0])).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(String(writes[0]).endsWith(`\r\n\r\n${body}`)).toBe(true);
    expect(String(writes[1])).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    expect(String(writes[1]).endsWith(`\r\n\r\n${refusal}`)).toBe(true);
  });
});

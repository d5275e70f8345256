import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { closeServers, expressBehindParsers, listen } from '@calltrack/test-utils';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createIncomingWebhookEndpoint } from '../create-webhook-endpoint';
import type { FetchHandler } from '../fetch-handler';
import { jsonResponse } from '../json-response';
import { acceptParsedJsonBody } from '../parsed-json-body';
import { readRequestText } from '../read-request-text';
import { toErrorResponse } from '../to-error-response';
import { toNodeHandler } from './to-node-handler';

afterEach(closeServers);

/** What a handler was handed, with the body read (at most 1 KiB). */
async function describeRequest(request: Request) {
  return {
    method: request.method,
    url: request.url,
    text: await readRequestText(request, { maxBytes: 1024 }),
    contentType: request.headers.get('content-type'),
    contentLength: request.headers.get('content-length'),
    contentEncoding: request.headers.get('content-encoding'),
    authorization: request.headers.get('authorization'),
  };
}

/** A JSON API that checks no signature: echoes the request; errors as JSON. */
const jsonApi = acceptParsedJsonBody(async (request: Request) => {
  try {
    return jsonResponse(await describeRequest(request));
  } catch (error) {
    return toErrorResponse(error);
  }
});

/** A JSON API that reads the body without a limit (`request.text()`); errors as JSON. */
const unlimitedJsonApi = acceptParsedJsonBody(async (request: Request) => {
  try {
    return jsonResponse({ length: (await request.text()).length });
  } catch (error) {
    return toErrorResponse(error);
  }
});

/** Express with `parsers` first (none: the handler reads the stream), `handler` at /api, and errors as JSON with their status. */
function serve(parsers: express.RequestHandler[], handler: FetchHandler): Promise<string> {
  return listen(expressBehindParsers(parsers, (app) => app.use('/api', toNodeHandler(handler))));
}

const post = (url: string, contentType: string, body: BodyInit) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, authorization: 'Bearer t' },
    body,
  });

describe('toNodeHandler behind a body parser that already read the body', () => {
  it('hands a JSON API the body express.json() parsed, serialized again, in the request as sent', async () => {
    const base = await serve([express.json()], jsonApi);
    const response = await post(
      `${base}/api/things?x=1`,
      'application/json',
      '{ "a": 1,\n  "b": ["é"] }',
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      method: 'POST',
      url: `${base}/api/things?x=1`,
      text: '{"a":1,"b":["é"]}',
      contentType: 'application/json',
      // The sent length and encoding described bytes that are gone.
      contentLength: null,
      contentEncoding: null,
      authorization: 'Bearer t',
    });

    const gzipped = await fetch(`${base}/api/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync('{"zipped":true}'),
    });
    expect(await gzipped.json()).toMatchObject({
      text: '{"zipped":true}',
      contentLength: null,
      contentEncoding: null,
    });

    // body-parser decodes UTF-16; what the handler gets is UTF-8, and its header says so.
    const utf16 = await post(
      `${base}/api/things`,
      'application/json; charset=utf-16le',
      Buffer.from('{"name":"José"}', 'utf16le'),
    );
    expect(await utf16.json()).toMatchObject({
      text: '{"name":"José"}',
      contentType: 'application/json; charset=utf-8',
    });
  });

  it('serves a GET whose empty JSON body express.json() read', async () => {
    const base = await serve([express.json()], jsonApi);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${base}/api/things`, {
        method: 'GET',
        headers: { 'content-type': 'application/json', 'content-length': '0' },
      });
      request.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode!, body }));
      });
      request.on('error', reject);
      request.end();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ method: 'GET', text: '{}' });
  });

  it("holds a parsed body to the handler's limit, and the parser's own limit still answers 413", async () => {
    const roomy = await serve([express.json({ limit: '1mb' })], jsonApi);
    const overHandlerLimit = await post(
      `${roomy}/api/things`,
      'application/json',
      JSON.stringify({ pad: 'x'.repeat(2048) }),
    );
    expect(overHandlerLimit.status).toBe(413);
    expect(await overHandlerLimit.json()).toMatchObject({ error: { code: 'payload_too_large' } });

    const strict = await serve([express.json()], jsonApi);
    const overParserLimit = await post(
      `${strict}/api/things`,
      'application/json',
      JSON.stringify({ pad: 'x'.repeat(200 * 1024) }),
    );
    expect(overParserLimit.status).toBe(413);
    expect(await overParserLimit.json()).toMatchObject({ error: { type: 'entity.too.large' } });
  });

  it('refuses with 415 a body express.urlencoded() parsed, once a JSON API reads it', async () => {
    const base = await serve([express.urlencoded({ extended: false })], jsonApi);
    const read = await post(`${base}/api/things`, 'application/x-www-form-urlencoded', 'a=1');
    expect(read.status).toBe(415);
    expect(await read.json()).toEqual({
      error: {
        code: 'unsupported_media_type',
        message: 'This API reads application/json bodies, not application/x-www-form-urlencoded.',
      },
    });

    // A handler that lets the error go: Express answers with its status, not a 500.
    const throwing = await serve(
      [express.urlencoded({ extended: false })],
      acceptParsedJsonBody(async (request: Request) => jsonResponse(await request.json())),
    );
    const thrown = await post(`${throwing}/api/things`, 'application/x-www-form-urlencoded', 'a=1');
    expect(thrown.status).toBe(415);

    // Refused only when read: a handler that answers from the headers answers as usual.
    const headersOnly = await serve(
      [express.urlencoded({ extended: false })],
      acceptParsedJsonBody((request: Request) =>
        jsonResponse({ method: request.method }, { status: 202 }),
      ),
    );
    const answered = await post(
      `${headersOnly}/api/things`,
      'application/x-www-form-urlencoded',
      'a=1',
    );
    expect(answered.status).toBe(202);
  });

  it('answers a parsed body too deep for JSON.stringify as it does without the parser, or 400', async () => {
    // 20,000 levels: within express.json()'s 100 KB, past what JSON.stringify can recurse into.
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    // Over the handler's 1 KiB limit: the 413 it answers without the parser.
    const plain = await serve([], jsonApi);
    const parsed = await serve([express.json()], jsonApi);
    for (const base of [plain, parsed]) {
      const response = await post(`${base}/api/things`, 'application/json', deep);
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    }

    // A handler that reads without a limit: too deep to pass on is a 400, caught or thrown.
    const roomy = await serve([express.json({ limit: '1mb' })], unlimitedJsonApi);
    const tooDeep = await post(`${roomy}/api/things`, 'application/json', deep);
    expect(tooDeep.status).toBe(400);
    expect(await tooDeep.json()).toMatchObject({ error: { code: 'invalid_payload' } });
    const throwing = await serve(
      [express.json({ limit: '1mb' })],
      acceptParsedJsonBody(async (request: Request) => jsonResponse(await request.json())),
    );
    expect((await post(`${throwing}/api/things`, 'application/json', deep)).status).toBe(400);
  });

  it('answers a parsed BigInt or cycle with a 4xx, never a 500', async () => {
    // What a parser may leave that JSON cannot hold: a BigInt (a reviver), a cycle.
    const bigInts = await serve(
      [
        express.json({
          reviver: (_key: string, value: unknown) =>
            typeof value === 'number' && !Number.isSafeInteger(value) ? BigInt(1) << 64n : value,
        }),
      ],
      jsonApi,
    );
    const bigInt = await post(
      `${bigInts}/api/things`,
      'application/json',
      '{"n":18446744073709551616}',
    );
    expect(bigInt.status).toBe(400);
    expect(await bigInt.json()).toMatchObject({
      error: { code: 'invalid_payload', message: expect.stringMatching(/BigInt/) },
    });
    const cyclic = (request: express.Request, _: express.Response, next: express.NextFunction) => {
      request.body.self = request.body;
      next();
    };
    // Endless as JSON: over a read limit; without one, nested deeper than any body passed on.
    const limited = await serve([express.json(), cyclic], jsonApi);
    const overLimit = await post(`${limited}/api/things`, 'application/json', '{"a":1}');
    expect(overLimit.status).toBe(413);
    expect(await overLimit.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const unlimited = await serve([express.json(), cyclic], unlimitedJsonApi);
    const tooDeep = await post(`${unlimited}/api/things`, 'application/json', '{"a":1}');
    expect(tooDeep.status).toBe(400);
    expect(await tooDeep.json()).toEqual({
      error: {
        code: 'invalid_payload',
        message: 'The JSON body is nested deeper than 1000 levels.',
      },
    });
  });

  it('refuses a parsed number JSON cannot carry (1e400 read as Infinity) instead of passing null', async () => {
    const base = await serve([express.json()], jsonApi);
    for (const body of ['{"from":1e400}', '[-1e400]']) {
      const response = await post(`${base}/api/things`, 'application/json', body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { code: 'invalid_payload', message: expect.stringMatching(/number/) },
      });
    }
  });

  it('hands on a top-level JSON string express.json({ strict: false }) parsed as the JSON string sent', async () => {
    const base = await serve([express.json({ strict: false })], jsonApi);
    const sent = JSON.stringify(JSON.stringify({ a: 1 }));
    const response = await post(`${base}/api/things`, 'application/json', sent);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ text: sent });
    const spaced = await post(`${base}/api/things`, 'application/json', ' "x" ');
    expect(await spaced.json()).toMatchObject({ text: '"x"' });
    // Other top-level values strict: false lets through are written as they were.
    const number = await post(`${base}/api/things`, 'application/json', '12');
    expect(await number.json()).toMatchObject({ text: '12' });
  });

  it('keeps the text express.text() read under a JSON media type when its length says it is the raw body', async () => {
    const base = await serve([express.text({ type: 'application/json' })], jsonApi);
    const sent = '{ "a": 1, "b": "é" }';
    const response = await post(`${base}/api/things`, 'application/json', sent);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ text: sent });

    // Without a Content-Length (chunked) the text cannot be told from a JSON string that
    // express.json({ strict: false }) parsed: it is handed on as that JSON string, never as an
    // object the client did not send.
    const chunked = await fetch(`${base}/api/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(sent));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(await chunked.json()).toMatchObject({ text: JSON.stringify(sent) });

    // Under any other media type express.text()'s string is the body, as before.
    const plainText = await serve([express.text()], jsonApi);
    const text = await post(`${plainText}/api/things`, 'text/plain', 'hello "there"');
    expect(await text.json()).toMatchObject({ text: 'hello "there"', contentType: 'text/plain' });
  });

  it('still refuses handlers that need the raw bytes: a plain fetch handler, a provider webhook', async () => {
    const plain: FetchHandler = async (request) => jsonResponse(await describeRequest(request));
    const webhook = () =>
      createIncomingWebhookEndpoint({ provider: 'Test', methods: ['POST'] }, async (incoming) => ({
        body: await incoming.readText(1024),
      }));
    // A webhook handler stays refused even if something marks it as a JSON API.
    for (const handler of [plain, webhook(), acceptParsedJsonBody(webhook())]) {
      const base = await serve([express.json()], handler);
      const response = await post(`${base}/api/hook`, 'application/json', '{"a":1}');
      expect(response.status).toBe(500);
      const { message } = (await response.json()).error;
      expect(message).toMatch(/raw bytes a webhook signature covers are gone/);
      expect(message).toMatch(/express\.raw/);
    }
  });
});

import { createMemoryBus } from '@calltrack/bus';
import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  listen,
  makeCallEvent,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@calltrack/test-utils';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryWebhookStore } from './create-memory-webhook-store';
import { createTestClock } from './create-test-clock';
import { createWebhookDispatcher } from './create-webhook-dispatcher';
import { createWebhookHandler } from './create-webhook-handler';
import type { WebhookDispatcher } from './webhook-dispatcher';

const tokens: Record<string, string> = {
  'token-a': 'tenant-a',
  'token-b': 'tenant-b',
  'token-c': 'tenant-c',
};
let base: string;
let receiver: WebhookReceiver;
let dispatcher: WebhookDispatcher;
const bus = createMemoryBus();
const errors: unknown[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dispatcher = createWebhookDispatcher({
    store: createMemoryWebhookStore(),
    bus,
    clock: createTestClock(Math.floor(Date.now() / 1000) * 1000),
    allowHttp: true,
    allowedCidrs: ['127.0.0.0/8'],
    maxEndpointsPerTenant: 3,
    retrySchedule: [],
  });
  await dispatcher.start();
  const handler = createWebhookHandler({
    dispatcher,
    basePath: '/api',
    onError: (error) => errors.push(error),
    authenticate: (request) => {
      const token = request.headers.get('authorization')?.replace(/^Bearer /, '');
      const tenantId = token === undefined ? undefined : tokens[token];
      return tenantId === undefined ? null : { tenantId };
    },
  });
  base = await listen(toNodeHandler(handler));
});

afterAll(async () => {
  await dispatcher.close();
  await closeServers();
  await receiver.close();
  expect(errors).toEqual([]);
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  options: { token?: string | null; headers?: Record<string, string>; raw?: string } = {},
) {
  const token = options.token === undefined ? 'token-a' : options.token;
  const response = await fetch(`${base}/api${path}`, {
    method,
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(body !== undefined || options.raw !== undefined
        ? { 'content-type': 'application/json' }
        : {}),
      ...options.headers,
    },
    ...(options.raw !== undefined
      ? { body: options.raw }
      : body !== undefined
        ? { body: JSON.stringify(body) }
        : {}),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

describe('createWebhookHandler', () => {
  it('creates an endpoint, shows its secret once, lists, reads, updates and deletes it', async () => {
    const created = await call('POST', '/webhooks', {
      url: `${receiver.url}/crm`,
      description: 'CRM',
      events: ['call.*'],
      headers: { Authorization: 'Bearer crm-token' },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body.endpoint).toMatchObject({
      tenantId: 'tenant-a',
      url: `${receiver.url}/crm`,
      events: ['call.*'],
      enabled: true,
      headerNames: ['authorization'],
      maxConcurrency: 10,
    });
    const id = created.body.endpoint.id as string;
    const listed = await call('GET', '/webhooks');
    expect(listed.body.endpoints.map((e: { id: string }) => e.id)).toContain(id);
    const everything = JSON.stringify([listed.body, (await call('GET', `/webhooks/${id}`)).body]);
    expect(everything).not.toContain(created.body.secret.slice(6));
    expect(everything).not.toContain('crm-token');

    const updated = await call('PUT', `/webhooks/${id}`, { description: 'CRM v2', enabled: false });
    expect(updated.body.endpoint).toMatchObject({
      description: 'CRM v2',
      enabled: false,
      disabled: { reason: 'manual' },
    });
    const rotated = await call('POST', `/webhooks/${id}/rotate-secret`, { gracePeriodSeconds: 60 });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(created.body.secret);
    expect((await call('DELETE', `/webhooks/${id}`)).status).toBe(204);
    expect((await call('GET', `/webhooks/${id}`)).status).toBe(404);
  });

  it('sends a test, then shows the logs and stats; resends and recovers', async () => {
    const { body } = await call('POST', '/webhooks', { url: `${receiver.url}/logs` });
    const id = body.endpoint.id as string;
    const test = await call('POST', `/webhooks/${id}/test`);
    expect(test.body.attempt).toMatchObject({
      trigger: 'test',
      status: 'succeeded',
      statusCode: 204,
    });
    expect(typeof test.body.attempt.startedAt).toBe('string');
    const [request] = receiver.received('/logs');
    expect(new Webhook(body.secret).verify(request!.body, request!.headers)).toMatchObject({
      type: 'webhook.test',
    });

    receiver.respond('/logs', { status: 500, body: 'down' });
    await bus.publish(
      makeCallEvent({ tenantId: 'tenant-a', type: 'call.ended', status: 'completed' }),
    );
    await receiver.waitFor(2, { path: '/logs' });
    let logs: { status: number; body: { attempts: { status: string }[] } } | undefined;
    for (let tries = 0; tries < 100; tries += 1) {
      logs = await call('GET', `/webhooks/${id}/logs?limit=10`);
      if (logs.body.attempts.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(logs!.body.attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    expect((await call('GET', `/webhooks/${id}/logs?status=failed`)).body.attempts).toHaveLength(1);
    const newest = await call('GET', `/webhooks/${id}/logs?limit=1`);
    expect(newest.body).toMatchObject({ attempts: [{ status: 'failed' }] });
    const cursor = encodeURIComponent(newest.body.nextCursor);
    expect((await call('GET', `/webhooks/${id}/logs?limit=1&cursor=${cursor}`)).body).toMatchObject(
      {
        attempts: [{ status: 'succeeded' }],
      },
    );
    expect((await call('GET', `/webhooks/${id}/logs?cursor=x.y`)).status).toBe(400);
    const stats = await call('GET', `/webhooks/${id}/stats?windowMs=3600000`);
    expect(stats.body.stats).toMatchObject({ attempts: 1, failed: 1, successRate: 0 });
    const failed = await call('GET', `/webhooks/failed?endpointId=${id}`);
    expect(Object.keys(failed.body).sort()).toEqual(['deliveries', 'nextCursor']);
    expect(failed.body.nextCursor).toBeNull();
    expect(failed.body.deliveries).toHaveLength(1);
    const messageId = failed.body.deliveries[0].messageId as string;

    const resent = await call('POST', `/webhooks/${id}/resend`, { messageId });
    expect(resent).toMatchObject({ status: 202, body: { queued: 1 } });
    await receiver.waitFor(3, { path: '/logs' });
    const recovered = await call('POST', `/webhooks/${id}/recover`, {
      since: new Date(Date.now() - 3_600_000).toISOString(),
    });
    expect(recovered.status).toBe(202);
    expect(receiver.received('/logs').at(-1)!.headers['webhook-id']).toBe(messageId);
  });

  it("answers a test send over the endpoint's rate limit with 429 and Retry-After", async () => {
    const { body } = await call('POST', '/webhooks', {
      url: `${receiver.url}/rate-limited-test`,
      rateLimitPerSecond: 1,
    });
    const id = body.endpoint.id as string;
    expect((await call('POST', `/webhooks/${id}/test`)).status).toBe(200);
    const refused = await call('POST', `/webhooks/${id}/test`);
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '1']);
    expect(refused.body.error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringMatching(/rate limit \(1 per second\)/),
    });
    expect(receiver.received('/rate-limited-test')).toHaveLength(1);
    expect((await call('DELETE', `/webhooks/${id}`)).status).toBe(204);
  });

  it('keeps tenant B away from tenant A: not seen, not changed, not replayed', async () => {
    const { body } = await call('POST', '/webhooks', { url: `${receiver.url}/a-only` });
    const id = body.endpoint.id as string;
    const asB = { token: 'token-b' };
    expect((await call('GET', '/webhooks', undefined, asB)).body.endpoints).toEqual([]);
    for (const [method, path, payload] of [
      ['GET', `/webhooks/${id}`],
      ['PUT', `/webhooks/${id}`, { description: 'mine now' }],
      ['DELETE', `/webhooks/${id}`],
      ['POST', `/webhooks/${id}/test`],
      ['GET', `/webhooks/${id}/logs`],
      ['GET', `/webhooks/${id}/stats`],
      ['POST', `/webhooks/${id}/rotate-secret`, {}],
      ['POST', `/webhooks/${id}/resend`, { messageId: 'msg_x' }],
      ['POST', `/webhooks/${id}/recover`, { since: Date.now() - 1000 }],
      ['GET', `/webhooks/failed?endpointId=${id}`],
    ] as [string, string, unknown?][]) {
      const response = await call(method, path, payload, asB);
      expect([method, path, response.status]).toEqual([method, path, 404]);
    }
    expect((await call('GET', `/webhooks/${id}`)).body.endpoint.description).toBe('');
    expect(receiver.received('/a-only')).toHaveLength(0);
    expect((await call('GET', '/webhooks?tenantId=tenant-a', undefined, asB)).status).toBe(400);
  });

  it('answers bad input with 400 and a clear message', async () => {
    const cases: [unknown, RegExp][] = [
      [{ url: 'not a url' }, /url: is not a valid URL/],
      [{ url: 'ftp://example.com/' }, /url: must be an http or https URL/],
      [{ url: 'https://user:pw@example.com/' }, /credentials/],
      [{ url: 'https://10.0.0.1/' }, /private address/],
      [
        { url: `${receiver.url}/x`, events: ['call.nope'] },
        /events: "call.nope" is not a known event type/,
      ],
      [{ url: `${receiver.url}/x`, events: ['nothing.*'] }, /matches no known event type/],
      [{ url: `${receiver.url}/x`, description: 'd'.repeat(600) }, /description: .*512/],
      [{ url: `${receiver.url}/x`, headers: { 'x-big': 'v'.repeat(5000) } }, /1,024/],
      [{ url: `${receiver.url}/x`, tenantId: 'tenant-b' }, /Unknown field "tenantId"/],
      // Header values undici cannot send: saved, every delivery would fail.
      [
        { url: `${receiver.url}/x`, headers: { 'x-team': 'Zürich €' } },
        /^headers: the value of "x-team" may hold only visible ASCII characters/,
      ],
      [
        { url: `${receiver.url}/x`, headers: { 'x-a': 'a\u0001b' } },
        /^headers: the value of "x-a"/,
      ],
      [[1, 2], /must be a JSON object/],
    ];
    for (const [payload, message] of cases) {
      const response = await call('POST', '/webhooks', payload);
      expect([response.status, response.body.error.message]).toEqual([
        400,
        expect.stringMatching(message),
      ]);
      expect(response.body.error.code).toMatch(/^invalid_/);
    }
    // A name no plain object can keep: refused, not dropped.
    const proto = await call('POST', '/webhooks', undefined, {
      raw: `{"url":"${receiver.url}/x","headers":{"__proto__":"x"}}`,
    });
    expect([proto.status, proto.body.error.message]).toEqual([
      400,
      'headers: "__proto__" is not a valid header name.',
    ]);
    expect(
      (await call('POST', '/webhooks', undefined, { raw: '{"url":' })).body.error.message,
    ).toMatch(/not valid JSON/);
    const deep = `${'{"a":'.repeat(50)}1${'}'.repeat(50)}`;
    const nested = await call('POST', '/webhooks', undefined, { raw: deep });
    expect([nested.status, nested.body.error.message]).toEqual([
      400,
      expect.stringMatching(/nested deeper than 8/),
    ]);
  });

  it('refuses a body that gives a key twice in one object with 400 naming it, and changes nothing', async () => {
    // JSON.parse keeps the last of a repeated key, a proxy or a log may read the first: which URL
    // was meant is ambiguous, as with a query parameter given twice (the dialer's rule).
    const asC = { token: 'token-c' };
    const before = (await call('GET', '/webhooks', undefined, asC)).body.endpoints;
    const twice = (key: string) =>
      `The body gives ${JSON.stringify(key)} twice in one object: give each key once.`;
    const created = [
      [`{"url": "${receiver.url}/one", "url": "${receiver.url}/two"}`, 'url'],
      [`{"url": "${receiver.url}/one", "ur\\u006c": "${receiver.url}/two"}`, 'url'],
      [`{"url": "${receiver.url}/one", "headers": {"x-a": "1", "x-a": "2"}}`, 'x-a'],
    ];
    for (const [raw, key] of created) {
      const answer = await call('POST', '/webhooks', undefined, { ...asC, raw });
      expect([answer.status, answer.body.error], raw).toEqual([
        400,
        { code: 'invalid_payload', message: twice(key!) },
      ]);
    }
    expect((await call('GET', '/webhooks', undefined, asC)).body.endpoints).toEqual(before);

    const endpoint = (await call('POST', '/webhooks', { url: `${receiver.url}/kept` }, asC)).body
      .endpoint;
    const path = `/webhooks/${endpoint.id}`;
    const writes: [string, string, string, string][] = [
      ['PUT', path, '{"description": "a", "enabled": false, "description": "b"}', 'description'],
      [
        'POST',
        `${path}/rotate-secret`,
        '{"gracePeriodSeconds": 60, "gracePeriodSeconds": 0}',
        'gracePeriodSeconds',
      ],
      ['POST', `${path}/resend`, '{"messageId": "msg_a", "messageId": "msg_b"}', 'messageId'],
      ['POST', `${path}/recover`, '{"since": "2026-01-01T00:00:00Z", "since": 0}', 'since'],
    ];
    for (const [method, route, raw, key] of writes) {
      const answer = await call(method, route, undefined, { ...asC, raw });
      expect([answer.status, answer.body.error.message], raw).toEqual([400, twice(key)]);
    }
    expect((await call('GET', path, undefined, asC)).body.endpoint).toEqual(endpoint);
    expect((await call('DELETE', path, undefined, asC)).status).toBe(204);
  });

  it('sends every header value it accepts as it was saved', async () => {
    // Tab, space and every visible ASCII character (a receiver trims the ends: they sit inside).
    let visible = '';
    for (let code = 0x21; code <= 0x7e; code += 1) visible += String.fromCharCode(code);
    const value = `a\t b${visible}`;
    const created = await call('POST', '/webhooks', {
      url: `${receiver.url}/header-values`,
      headers: { 'x-every-character': value, constructor: 'kept' },
    });
    expect(created.status).toBe(201);
    const test = await call('POST', `/webhooks/${created.body.endpoint.id}/test`);
    expect(test.body.attempt).toMatchObject({ status: 'succeeded' });
    const [request] = receiver.received('/header-values');
    expect(request!.headers['x-every-character']).toBe(value);
    expect(request!.headers.constructor).toBe('kept');
    expect((await call('DELETE', `/webhooks/${created.body.endpoint.id}`)).status).toBe(204);
  });

  it('refuses an empty form post (a cross-site HTML form) on the routes that need no body, with 415', async () => {
    const created = await call('POST', '/webhooks', { url: `${receiver.url}/form` });
    expect(created.status).toBe(201);
    const id = created.body.endpoint.id as string;
    for (const route of [`/webhooks/${id}/rotate-secret`, `/webhooks/${id}/test`]) {
      for (const type of ['application/x-www-form-urlencoded', 'text/plain']) {
        const refused = await call('POST', route, undefined, {
          raw: '',
          headers: { 'content-type': type },
        });
        expect([route, type, refused.status]).toEqual([route, type, 415]);
      }
    }
    // Nothing happened: no rotation (it would move updatedAt), no test attempt in the log.
    expect((await call('GET', `/webhooks/${id}`)).body).toEqual({
      endpoint: created.body.endpoint,
    });
    expect((await call('GET', `/webhooks/${id}/logs`)).body.attempts).toEqual([]);
    // Without a content type (fetch with no body) the routes still work.
    expect((await call('POST', `/webhooks/${id}/rotate-secret`)).status).toBe(200);
  });

  // A page on another site can send the session cookie with a body and no content type at all,
  // without a CORS preflight: `fetch(url, { method: 'POST', mode: 'no-cors', credentials:
  // 'include', body: bytes })` (or a Blob with no type, or `navigator.sendBeacon`). Read as JSON,
  // it created an endpoint of the attacker's choosing, which then received the tenant's events.
  it('refuses a body without a content type (a no-cors fetch of bytes from another site), with 415', async () => {
    const asC = { token: 'token-c' };
    const before = (await call('GET', '/webhooks', undefined, asC)).body.endpoints;
    const send = async (path: string, body: BodyInit) => {
      const response = await fetch(`${base}/api${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer token-c' },
        body,
      });
      return [
        response.headers.get('content-type')?.startsWith('application/json'),
        response.status,
      ];
    };
    const json = JSON.stringify({ url: `${receiver.url}/attacker`, events: ['*'] });
    // Node's fetch, as a browser does, sends such bodies with no content-type header.
    expect(await send('/webhooks', new TextEncoder().encode(json))).toEqual([true, 415]);
    expect(await send('/webhooks', new Blob([json]))).toEqual([true, 415]);
    expect((await call('GET', '/webhooks', undefined, asC)).body.endpoints).toEqual(before);
    const created = await call('POST', '/webhooks', { url: `${receiver.url}/typeless` }, asC);
    const id = created.body.endpoint.id as string;
    const since = JSON.stringify({ since: new Date(Date.now() - 60_000).toISOString() });
    expect(await send(`/webhooks/${id}/recover`, new TextEncoder().encode(since))).toEqual([
      true,
      415,
    ]);
    expect(await send(`/webhooks/${id}/rotate-secret`, new TextEncoder().encode('{}'))).toEqual([
      true,
      415,
    ]);
    expect((await call('GET', `/webhooks/${id}`, undefined, asC)).body).toEqual({
      endpoint: created.body.endpoint,
    });
    expect((await call('DELETE', `/webhooks/${id}`, undefined, asC)).status).toBe(204);
  });

  // A bodyless `no-cors` POST of another origin's page carries the session cookie and needs no
  // preflight: it rotated a secret (the endpoint stops verifying) or sent tests at the budget.
  it('refuses a write from another origin’s page with 403 before authenticate, as the dialer does (allowedOrigins)', async () => {
    let authenticated = 0;
    const guarded = await listen(
      toNodeHandler(
        createWebhookHandler({
          dispatcher,
          basePath: '/api',
          allowedOrigins: ['https://App.example:443/'],
          onError: (error) => errors.push(error),
          authenticate: (request) => {
            authenticated += 1;
            return request.headers.get('authorization') === 'Bearer token-o'
              ? { tenantId: 'tenant-o' }
              : null;
          },
        }),
      ),
    );
    const send = async (
      method: string,
      path: string,
      headers: Record<string, string>,
      body?: unknown,
    ) => {
      const response = await fetch(`${guarded}/api${path}`, {
        method,
        headers: {
          authorization: 'Bearer token-o',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        cacheControl: response.headers.get('cache-control'),
        body: text ? JSON.parse(text) : undefined,
      };
    };
    const created = await send('POST', '/webhooks', {}, { url: `${receiver.url}/origins` });
    expect(created.status).toBe(201);
    const id = created.body.endpoint.id as string;
    const before = authenticated;
    const writes: [string, string, unknown?][] = [
      ['POST', `/webhooks/${id}/rotate-secret`],
      ['POST', `/webhooks/${id}/test`],
      ['POST', '/webhooks', { url: `${receiver.url}/attacker`, events: ['*'] }],
      ['PUT', `/webhooks/${id}`, { url: `${receiver.url}/attacker` }],
      ['DELETE', `/webhooks/${id}`],
      ['POST', `/webhooks/${id}/resend`, { messageId: 'msg_1' }],
      ['POST', `/webhooks/${id}/recover`, { since: new Date(Date.now() - 60_000).toISOString() }],
    ];
    for (const headers of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' },
      { origin: 'null', 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
    ] as Record<string, string>[]) {
      for (const [method, path, body] of writes) {
        const refused = await send(method, path, headers, body);
        expect([method, path, refused.status, refused.body.error.code]).toEqual([
          method,
          path,
          403,
          'origin_not_allowed',
        ]);
        expect(refused.cacheControl).toBe('no-store');
      }
    }
    expect(
      (await send('POST', `/webhooks/${id}/rotate-secret`, { origin: 'https://evil.example' })).body
        .error.message,
    ).toBe('Origin https://evil.example may not write here.');
    expect(authenticated).toBe(before);
    // Nothing happened: no rotation (it would move updatedAt), no test attempt, no endpoint.
    expect((await send('GET', `/webhooks/${id}`, {})).body).toEqual({
      endpoint: created.body.endpoint,
    });
    expect((await send('GET', `/webhooks/${id}/logs`, {})).body.attempts).toEqual([]);
    expect((await send('GET', '/webhooks', {})).body.endpoints).toHaveLength(1);
    // Reads are not checked (CORS keeps the answer from the page; no read shows a secret).
    expect((await send('GET', '/webhooks', { origin: 'https://evil.example' })).status).toBe(200);
    // The app's own page, a typed URL, and no browser go on.
    for (const headers of [
      { origin: 'https://app.example', 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      {},
    ] as Record<string, string>[]) {
      expect((await send('POST', `/webhooks/${id}/rotate-secret`, headers)).status).toBe(200);
    }
    expect((await send('DELETE', `/webhooks/${id}`, {})).status).toBe(204);
    expect(() =>
      createWebhookHandler({
        dispatcher,
        authenticate: () => null,
        allowedOrigins: ['app.example'],
      }),
    ).toThrow(/createWebhookHandler: allowedOrigins: "app.example" is not an origin/);
  });

  it('refuses a maxBodyBytes that is not a whole number from 1 when created (NaN bounded nothing)', async () => {
    const authenticate = () => ({ tenantId: 'tenant-a' });
    for (const maxBodyBytes of [Number.NaN, 0, -1, 1.5, Number.POSITIVE_INFINITY, '65536']) {
      expect(() =>
        createWebhookHandler({ dispatcher, authenticate, maxBodyBytes: maxBodyBytes as number }),
      ).toThrow(
        expect.objectContaining({
          code: 'invalid_argument',
          message: `createWebhookHandler: maxBodyBytes must be a whole number from 1, got ${String(maxBodyBytes)}.`,
        }),
      );
    }
    // The limit given is the one kept: a body over it is 413 before it is read.
    const small = await listen(
      toNodeHandler(createWebhookHandler({ dispatcher, authenticate, maxBodyBytes: 100 })),
    );
    const response = await fetch(`${small}/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${receiver.url}/big`, description: 'x'.repeat(200) }),
    });
    expect(response.status).toBe(413);
  });

  it('refuses before reading the body: auth, method, type, size; and holds the quota', async () => {
    expect(
      (await call('POST', '/webhooks', { url: `${receiver.url}/x` }, { token: null })).status,
    ).toBe(401);
    expect(
      (await call('POST', '/webhooks', { url: `${receiver.url}/x` }, { token: 'wrong' })).status,
    ).toBe(401);
    const patch = await call('PATCH', '/webhooks');
    expect([patch.status, patch.headers.get('allow')]).toEqual([405, 'GET, POST']);
    expect((await call('GET', '/nothing')).status).toBe(404);
    const typed = await call('POST', '/webhooks', undefined, {
      raw: 'url=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(typed.status).toBe(415);
    const huge = await call('POST', '/webhooks', undefined, {
      raw: JSON.stringify({ description: 'x'.repeat(70_000) }),
    });
    expect(huge.status).toBe(413);
    expect((await call('PUT', '/webhooks/ep_doesnotexist', { description: 'x' })).status).toBe(404);
    // tenant-b starts empty: 3 allowed, the 4th is 409.
    const asB = { token: 'token-b' };
    for (let index = 0; index < 3; index += 1) {
      expect(
        (await call('POST', '/webhooks', { url: `${receiver.url}/b${index}` }, asB)).status,
      ).toBe(201);
    }
    const over = await call('POST', '/webhooks', { url: `${receiver.url}/b3` }, asB);
    expect([over.status, over.body.error.code]).toEqual([409, 'endpoint_quota_exceeded']);
  });
});

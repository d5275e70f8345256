import { createMemoryBus } from '@calltrack/bus';
import {
  BusUnavailableError,
  type CallEvent,
  InvalidSignatureError,
  isSealedCallEvent,
  parseCallEvent,
  sealCallEvent,
  UnknownTenantError,
  withCallSnapshot,
} from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  type CollectingSink,
  closeServers,
  countEventValidations,
  createCollectingSink,
  listen,
  sendHeadersOnly,
} from '@calltrack/test-utils';
import fc from 'fast-check';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import twilio from 'twilio';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadTwilioFixture } from './__tests__/load-twilio-fixture';
import { computeTwilioBodySha256 } from './compute-twilio-body-sha256';
import { computeTwilioSignature } from './compute-twilio-signature';
import {
  type CreateTwilioWebhookHandlerOptions,
  createTwilioWebhookHandler,
} from './create-twilio-webhook-handler';

// Core as it is, with its functions spied on, to count validations.
vi.mock(import('@calltrack/core'), { spy: true });
const validations = countEventValidations({ parseCallEvent, sealCallEvent, withCallSnapshot });

const authToken = 'test-auth-token-0123456789abcdef';
const form = 'application/x-www-form-urlencoded';
const callSid = 'CAf0e1d2c3b4a5968778695a4b3c2d1e0f';

afterEach(closeServers);

interface Setup {
  base: string;
  sink: CollectingSink;
  errors: unknown[];
  tenantCalls: Parameters<CreateTwilioWebhookHandlerOptions['resolveTenant']>[0][];
}

/**
 * Behind `toNodeHandler`: `fast` mounts the handler itself (the bridge runs it straight on Node's
 * request), `fetch` hides it behind a plain fetch function (the bridge builds a `Request`, as for
 * Next.js and every other runtime).
 */
async function setup(
  options: Partial<CreateTwilioWebhookHandlerOptions> = {},
  mount: 'fast' | 'fetch' = 'fast',
): Promise<Setup> {
  const sink = createCollectingSink();
  const errors: unknown[] = [];
  const tenantCalls: Setup['tenantCalls'] = [];
  const handler = createTwilioWebhookHandler({
    authToken,
    sink,
    resolveTenant: (context) => {
      tenantCalls.push(context);
      return context.to === '+14155550100' || context.url.searchParams.get('tenant') === 'acme'
        ? { tenantId: 'acme', branchId: 'sf' }
        : null;
    },
    onError: (error) => errors.push(error),
    ...options,
  });
  const base = await listen(
    toNodeHandler(mount === 'fast' ? handler : (request, context) => handler(request, context)),
  );
  return { base, sink, errors, tenantCalls };
}

interface PostOptions {
  body: string;
  /** The URL the signature is computed for; defaults to the URL posted to. */
  signedUrl?: string;
  signature?: string | null;
  contentType?: string | null;
  token?: string;
  headers?: Record<string, string>;
  method?: string;
}

async function post(url: string, options: PostOptions): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const contentType = options.contentType === undefined ? form : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const isJson = contentType?.includes('json') ?? false;
  const signature =
    options.signature === undefined
      ? computeTwilioSignature({
          authToken: options.token ?? authToken,
          url: options.signedUrl ?? url,
          ...(isJson ? {} : { params: new URLSearchParams(options.body) }),
        })
      : options.signature;
  if (signature !== null) headers['x-twilio-signature'] = signature;
  return fetch(url, { method: options.method ?? 'POST', headers, body: options.body });
}

const completed = () => loadTwilioFixture('twilio-status-callback-completed');
const ringing = () => loadTwilioFixture('twilio-status-callback-ringing');

async function expectError(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
}

describe('createTwilioWebhookHandler: success', () => {
  it('reads receivedAt from its clock, as the Retell and CallerDesk handlers do', async () => {
    const at = Date.parse('2026-01-02T03:04:05.006Z');
    const { base, sink } = await setup({ clock: { now: () => at } });
    expect((await post(`${base}/webhooks/twilio`, { body: ringing() })).status).toBe(200);
    expect(sink.events.map((event) => event.receivedAt)).toEqual(['2026-01-02T03:04:05.006Z']);
  });

  it('verifies, parses and publishes a status callback, answering 200 with the counts', async () => {
    const { base, sink, tenantCalls } = await setup();
    const response = await post(`${base}/webhooks/twilio`, { body: ringing() });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, published: 1, duplicates: 0 });
    expect(sink.events).toEqual([
      expect.objectContaining({
        id: `twilio:${callSid}:ringing`,
        type: 'call.ringing',
        status: 'ringing',
        tenantId: 'acme',
        branchId: 'sf',
        callId: callSid,
        sequence: 1,
      }),
    ]);
    expect(sink.events[0]!.raw).toBeUndefined();
    expect(tenantCalls[0]).toMatchObject({
      accountSid: 'AC0123456789abcdef0123456789abcdef',
      callSid,
      direction: 'outbound',
      from: '+14155550199',
      to: '+14155550100',
    });
  });

  it('publishes every event of a webhook (completed + AnsweredBy)', async () => {
    const { base, sink } = await setup();
    const response = await post(`${base}/webhooks/twilio`, { body: completed() });
    expect(response.status).toBe(200);
    expect(sink.events.map((event) => event.type)).toEqual([
      'call.ended',
      'call.machine_detection',
    ]);
    expect(sink.events[0]!.data.durationMs).toBe(49_000);
  });

  it('validates each event once, from its parser to the bus: the sink gets sealed events', async () => {
    const bus = createMemoryBus();
    const subscription = bus.subscribe({ tenantId: 'acme' });
    const { base } = await setup({ sink: bus });
    validations.clear();
    const response = await post(`${base}/webhooks/twilio`, { body: completed() });
    expect(await response.json()).toEqual({ ok: true, published: 2, duplicates: 0 });
    expect(validations.count()).toBe(2);
    const received = [await subscription.next(), await subscription.next()];
    expect(
      received.map(({ value }) => value?.type === 'event' && isSealedCallEvent(value.event)),
    ).toEqual([true, true]);
    await bus.close();
  });

  it('answers 200 to a duplicate (Twilio retried) and publishes nothing new', async () => {
    const { base, sink } = await setup();
    const first = await post(`${base}/webhooks/twilio`, { body: completed() });
    const second = await post(`${base}/webhooks/twilio`, { body: completed() });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(await second.json()).toEqual({ ok: true, published: 0, duplicates: 2 });
    expect(sink.events).toHaveLength(2);
  });

  it('handles recording and AMD callbacks, with the tenant from the signed URL query', async () => {
    const { base, sink } = await setup();
    const url = `${base}/webhooks/twilio?tenant=acme`;
    expect(
      (await post(url, { body: loadTwilioFixture('twilio-recording-status-callback-completed') }))
        .status,
    ).toBe(200);
    expect(
      (await post(url, { body: loadTwilioFixture('twilio-amd-status-callback') })).status,
    ).toBe(200);
    expect(sink.events.map((event) => [event.type, event.tenantId])).toEqual([
      ['call.recording', 'acme'],
      ['call.machine_detection', 'acme'],
    ]);
  });

  it('sets data.reference from the signed URL’s reference (what the CallControl adapter adds)', async () => {
    const { base, sink } = await setup();
    const withReference = `${base}/webhooks/twilio?tenant=acme&reference=attempt-7`;
    const body = loadTwilioFixture('twilio-amd-status-callback');
    expect((await post(withReference, { body })).status).toBe(200);
    expect(sink.events[0]?.data).toMatchObject({ reference: 'attempt-7' });
    // A reference that is not one (whitespace) is left off; the webhook still counts.
    const bad = `${base}/webhooks/twilio?tenant=acme&reference=${encodeURIComponent('a b')}`;
    expect(
      (await post(bad, { body: loadTwilioFixture('twilio-recording-status-callback-completed') }))
        .status,
    ).toBe(200);
    expect(sink.events[1]?.data).not.toHaveProperty('reference');
  });

  it('attaches raw when includeRaw is set', async () => {
    const { base, sink } = await setup({ includeRaw: true });
    await post(`${base}/webhooks/twilio`, { body: ringing() });
    expect(sink.events[0]!.raw).toMatchObject({ CallSid: callSid, CallStatus: 'ringing' });
  });

  it('publishes a callback whose parameters are over the raw limit, without raw', async () => {
    // Only with maxBodyBytes raised past 2 MiB: raw is left out and says why, the events go.
    const { base, sink } = await setup({ includeRaw: true, maxBodyBytes: 8 * 1024 * 1024 });
    const padding = Array.from({ length: 160 }, (_, index) => `Pad${index}=${'x'.repeat(15_000)}`);
    const response = await post(`${base}/webhooks/twilio`, {
      body: `${completed()}&${padding.join('&')}`,
    });
    expect(response.status).toBe(200);
    expect(sink.events.length).toBeGreaterThan(0);
    for (const event of sink.events) {
      expect(event).not.toHaveProperty('raw');
      expect(event.data.rawOmitted).toBe('length');
    }
  });

  it('accepts a charset parameter on the content type', async () => {
    const { base } = await setup();
    const response = await post(`${base}/t`, {
      body: ringing(),
      contentType: `${form}; charset=utf-8`,
    });
    expect(response.status).toBe(200);
  });

  it('verifies a query with an apostrophe that fetch re-encodes as %27', async () => {
    const { base, sink } = await setup();
    const url = `${base}/webhooks/twilio?name=O'hara`;
    const response = await post(url, { body: ringing(), signedUrl: url });
    expect(response.status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('accepts the JSON variant with bodySHA256', async () => {
    const { base, sink } = await setup();
    const body = JSON.stringify({
      CallSid: 'CA1',
      CallStatus: 'in-progress',
      To: '+14155550100',
      SequenceNumber: 2,
    });
    const url = `${base}/webhooks/twilio?bodySHA256=${computeTwilioBodySha256(body)}`;
    const response = await post(url, { body, contentType: 'application/json' });
    expect(response.status).toBe(200);
    expect(sink.events).toEqual([
      expect.objectContaining({ id: 'twilio:CA1:in-progress', type: 'call.answered', sequence: 2 }),
    ]);
  });
});

describe('createTwilioWebhookHandler: accounts and URLs', () => {
  it('looks the Auth Token up by the claimed AccountSid', async () => {
    const tokens = new Map([
      ['AC0123456789abcdef0123456789abcdef', 'token-a'],
      ['ACffffffffffffffffffffffffffffffff', 'token-b'],
    ]);
    const seen: (string | undefined)[] = [];
    const { base, sink } = await setup({
      authToken: async ({ accountSid }) => {
        seen.push(accountSid);
        return accountSid === undefined ? undefined : tokens.get(accountSid);
      },
    });
    const url = `${base}/webhooks/twilio`;
    expect((await post(url, { body: ringing(), token: 'token-a' })).status).toBe(200);
    // Signed with the other account's token: the claimed AccountSid decides which one counts.
    expect((await post(url, { body: completed(), token: 'token-b' })).status).toBe(403);
    const otherAccount = ringing().replace(
      'AC0123456789abcdef0123456789abcdef',
      'ACffffffffffffffffffffffffffffffff',
    );
    const response = await post(url, {
      body: otherAccount.replace('ringing', 'in-progress'),
      token: 'token-b',
    });
    expect(response.status).toBe(200);
    // An unknown account has no token: 403, not a crash.
    const unknown = ringing().replace(
      'AC0123456789abcdef0123456789abcdef',
      'AC00000000000000000000000000000000',
    );
    expect((await post(url, { body: unknown, token: 'token-a' })).status).toBe(403);
    expect(seen).toHaveLength(4);
    expect(sink.events.map((event) => event.data.accountSid)).toEqual([
      'AC0123456789abcdef0123456789abcdef',
      'ACffffffffffffffffffffffffffffffff',
    ]);
  });

  it('looks the Auth Token up for the resolved tenant: another tenant’s account is refused', async () => {
    // The documented setup for several accounts: the tenant from the signed callback URL, its
    // Auth Token by tenant. Each tenant holds its own token, and may use it to forge a webhook.
    const acmeAccount = 'AC0123456789abcdef0123456789abcdef';
    const globexAccount = 'ACffffffffffffffffffffffffffffffff';
    const tokensByTenant = new Map([
      ['acme', 'token-acme'],
      ['globex', 'token-globex'],
    ]);
    const lookups: [tenantId: string, accountSid: string | undefined][] = [];
    const { base, sink } = await setup({
      resolveTenant: ({ url }) => {
        const tenantId = url.searchParams.get('tenant');
        return tenantId !== null && tokensByTenant.has(tenantId) ? { tenantId } : null;
      },
      authToken: ({ tenant, accountSid }) => {
        lookups.push([tenant.tenantId, accountSid]);
        return tokensByTenant.get(tenant.tenantId);
      },
    });
    const hook = `${base}/webhooks/twilio`;
    const globexRinging = ringing()
      .replace(acmeAccount, globexAccount)
      .replace(callSid, 'CA0000000000000000000000000000000b');
    // Globex signs with its own account and token, for acme's callback URL.
    const forged = await post(`${hook}?tenant=acme`, {
      body: globexRinging,
      token: 'token-globex',
    });
    await expectError(forged, 403, 'invalid_signature');
    expect(sink.events).toEqual([]);
    // Each tenant's own callbacks pass.
    const acme = await post(`${hook}?tenant=acme`, { body: ringing(), token: 'token-acme' });
    expect(acme.status).toBe(200);
    const globex = await post(`${hook}?tenant=globex`, {
      body: globexRinging,
      token: 'token-globex',
    });
    expect(globex.status).toBe(200);
    expect(sink.events.map((event) => [event.tenantId, event.data.accountSid])).toEqual([
      ['acme', acmeAccount],
      ['globex', globexAccount],
    ]);
    expect(lookups).toEqual([
      ['acme', globexAccount],
      ['acme', acmeAccount],
      ['globex', globexAccount],
    ]);
  });

  it('rebuilds the signed URL from a publicUrl base (app behind a proxy)', async () => {
    const { base, sink } = await setup({ publicUrl: 'https://hooks.example.com/' });
    const response = await post(`${base}/webhooks/twilio?x=1`, {
      body: ringing(),
      signedUrl: 'https://hooks.example.com/webhooks/twilio?x=1',
    });
    expect(response.status).toBe(200);
    expect(sink.events).toHaveLength(1);
  });

  it('accepts the :443 spelling of the public URL', async () => {
    const { base } = await setup({ publicUrl: 'https://hooks.example.com' });
    const response = await post(`${base}/webhooks/twilio`, {
      body: ringing(),
      signedUrl: 'https://hooks.example.com:443/webhooks/twilio',
    });
    expect(response.status).toBe(200);
  });

  it('rebuilds the signed URL with a publicUrl function', async () => {
    const { base } = await setup({
      publicUrl: (request) => `https://public.example.com/app${new URL(request.url).pathname}`,
    });
    const response = await post(`${base}/hook`, {
      body: ringing(),
      signedUrl: 'https://public.example.com/app/hook',
    });
    expect(response.status).toBe(200);
  });

  it('ignores forwarded headers unless trustForwardedHeaders is set', async () => {
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example.com' };
    const signedUrl = 'https://public.example.com/hook';
    const untrusting = await setup();
    const refused = await post(`${untrusting.base}/hook`, { body: ringing(), signedUrl, headers });
    await expectError(refused, 403, 'invalid_signature');
    expect(untrusting.sink.events).toEqual([]);

    const trusting = await setup({ trustForwardedHeaders: true });
    const accepted = await post(`${trusting.base}/hook`, { body: ringing(), signedUrl, headers });
    expect(accepted.status).toBe(200);
  });
});

describe('createTwilioWebhookHandler: errors publish nothing', () => {
  it('405 for a method other than POST, with Allow', async () => {
    const { base, sink } = await setup();
    for (const method of ['GET', 'PUT']) {
      const response = await fetch(`${base}/hook`, {
        method,
        ...(method === 'GET' ? {} : { body: ringing() }),
      });
      expect(response.headers.get('allow')).toBe('POST');
      await expectError(response, 405, 'method_not_allowed');
    }
    expect(sink.events).toEqual([]);
  });

  it('401 without X-Twilio-Signature', async () => {
    const { base, sink } = await setup();
    await expectError(
      await post(`${base}/hook`, { body: ringing(), signature: null }),
      401,
      'missing_signature',
    );
    await expectError(
      await post(`${base}/hook`, { body: ringing(), signature: '  ' }),
      401,
      'missing_signature',
    );
    expect(sink.events).toEqual([]);
  });

  it('403 for a wrong signature, a wrong token, a changed body or a changed URL', async () => {
    const { base, sink, tenantCalls } = await setup();
    const url = `${base}/hook`;
    await expectError(
      await post(url, { body: ringing(), signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' }),
      403,
      'invalid_signature',
    );
    await expectError(
      await post(url, { body: ringing(), token: 'another-token' }),
      403,
      'invalid_signature',
    );
    const signature = computeTwilioSignature({
      authToken,
      url,
      params: new URLSearchParams(ringing()),
    });
    await expectError(
      await post(url, { body: `${ringing()}&Extra=1`, signature }),
      403,
      'invalid_signature',
    );
    await expectError(
      await post(`${url}?a=1`, { body: ringing(), signature }),
      403,
      'invalid_signature',
    );
    expect(sink.events).toEqual([]);
    // With a static Auth Token the signature is checked before resolveTenant ever runs (security
    // guide), so unverified data never reaches the app's lookup.
    expect(tenantCalls).toEqual([]);
  });

  it('accepts any of several Auth Tokens during a rotation, and nothing else', async () => {
    const { base, sink } = await setup({ authToken: ['new-auth-token-0123456789', authToken] });
    const url = `${base}/hook`;
    expect((await post(url, { body: ringing() })).status).toBe(200);
    expect(
      (await post(url, { body: completed(), token: 'new-auth-token-0123456789' })).status,
    ).toBe(200);
    await expectError(
      await post(url, { body: completed(), token: 'retired-auth-token' }),
      403,
      'invalid_signature',
    );
    expect(sink.events.map((event) => event.status).slice(0, 2)).toEqual(['ringing', 'completed']);
    const lookup = await setup({ authToken: async () => [authToken, ''] });
    expect((await post(`${lookup.base}/hook`, { body: ringing() })).status).toBe(200);
  });

  it('403 when the Auth Token lookup has no token', async () => {
    for (const answer of [undefined, null, '', []]) {
      const { base, sink } = await setup({ authToken: () => answer });
      await expectError(await post(`${base}/hook`, { body: ringing() }), 403, 'invalid_signature');
      expect(sink.events).toEqual([]);
    }
  });

  it('400 for a correctly signed payload missing a required field', async () => {
    const { base, sink } = await setup();
    const body = ringing().replace(`CallSid=${callSid}&`, '');
    const response = await post(`${base}/hook`, { body });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toEqual({
      code: 'invalid_payload',
      message: 'Invalid Twilio status callback: missing required field CallSid.',
    });
    expect(sink.events).toEqual([]);
  });

  it('400 for a correctly signed JSON body that is not an object', async () => {
    const { base, sink } = await setup();
    const body = '[1,2';
    const url = `${base}/hook?bodySHA256=${computeTwilioBodySha256(body)}`;
    await expectError(
      await post(url, { body, contentType: 'application/json' }),
      400,
      'invalid_payload',
    );
    expect(sink.events).toEqual([]);
  });

  it('400 for a body that is not UTF-8', async () => {
    const { base, sink } = await setup();
    const response = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'content-type': form, 'x-twilio-signature': 'x' },
      body: new Uint8Array([0x43, 0x61, 0xff, 0xfe]),
    });
    await expectError(response, 400, 'invalid_payload');
    expect(sink.events).toEqual([]);
  });

  it('413 over maxBodyBytes, with or without Content-Length', async () => {
    const { base, sink } = await setup({ maxBodyBytes: 256 });
    const body = `${ringing()}&Padding=${'x'.repeat(300)}`;
    await expectError(await post(`${base}/hook`, { body }), 413, 'payload_too_large');
    const chunked = await fetch(`${base}/hook`, {
      method: 'POST',
      headers: { 'content-type': form, 'x-twilio-signature': 'x' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(body));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    await expectError(chunked, 413, 'payload_too_large');
    expect(sink.events).toEqual([]);
  });

  it('uses 64 KiB as the default body limit', async () => {
    const { base } = await setup();
    const body = `${ringing()}&Padding=${'x'.repeat(64 * 1024)}`;
    await expectError(await post(`${base}/hook`, { body }), 413, 'payload_too_large');
  });

  it('415 for a wrong content type, and for JSON without bodySHA256', async () => {
    const { base, sink } = await setup();
    await expectError(
      await post(`${base}/hook`, { body: ringing(), contentType: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await post(`${base}/hook`, { body: ringing(), contentType: null }),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await post(`${base}/hook`, { body: '{"CallSid":"CA1"}', contentType: 'application/json' }),
      415,
      'unsupported_media_type',
    );
    expect(sink.events).toEqual([]);
  });

  it('422 when no tenant is known', async () => {
    const { base, sink } = await setup();
    const body = ringing().replaceAll('%2B14155550100', '%2B19995550000');
    await expectError(await post(`${base}/hook`, { body }), 422, 'unknown_tenant');
    expect(sink.events).toEqual([]);
  });

  it('500 when resolveTenant throws or returns an invalid tenant, reported to onError', async () => {
    const throwing = await setup({
      resolveTenant: () => {
        throw new Error('database down');
      },
    });
    await expectError(
      await post(`${throwing.base}/hook`, { body: ringing() }),
      500,
      'internal_error',
    );
    expect(throwing.errors).toEqual([new Error('database down')]);
    expect(throwing.sink.events).toEqual([]);

    const invalid = await setup({ resolveTenant: () => ({ tenantId: 'has space' }) });
    await expectError(
      await post(`${invalid.base}/hook`, { body: ringing() }),
      500,
      'invalid_tenant',
    );
    expect(invalid.errors).toHaveLength(1);
  });

  it('5xx when the sink fails, so Twilio retries; the retry then succeeds', async () => {
    const { base, sink, errors } = await setup();
    sink.failWith = new Error('disk full');
    await expectError(await post(`${base}/hook`, { body: ringing() }), 500, 'publish_failed');
    sink.failWith = new BusUnavailableError({ message: 'Redis is unreachable.' });
    await expectError(await post(`${base}/hook`, { body: ringing() }), 503, 'bus_unavailable');
    expect(errors).toHaveLength(2);
    expect(sink.events).toEqual([]);

    sink.failWith = undefined;
    expect((await post(`${base}/hook`, { body: ringing() })).status).toBe(200);
    expect(sink.events.map((event: CallEvent) => event.type)).toEqual(['call.ringing']);
  });

  it('survives an onError that throws', async () => {
    const { base, sink } = await setup({
      onError: () => {
        throw new Error('logger broke');
      },
    });
    sink.failWith = new Error('disk full');
    await expectError(await post(`${base}/hook`, { body: ringing() }), 500, 'publish_failed');
  });
});

describe('createTwilioWebhookHandler: publicUrl, the full console URL or a base', () => {
  // Signatures made by Twilio's own SDK (twilio-node), over the URL Twilio requests.
  const sign = (url: string, body: string) =>
    twilio.getExpectedTwilioSignature(
      authToken,
      url,
      Object.fromEntries(new URLSearchParams(body)),
    );

  const host = fc.constantFrom('hooks.example.com', 'example.org:8443', 'abc123.ngrok.app');
  const segment = fc.stringMatching(/^[a-z0-9-]{1,10}$/);
  const prefix = fc
    .array(segment, { maxLength: 2 })
    .map((parts) => parts.map((part) => `/${part}`).join(''));
  const route = fc
    .array(segment, { minLength: 1, maxLength: 3 })
    .map((parts) => `/${parts.join('/')}`);
  const query = fc.option(
    fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.stringMatching(/^[A-Za-z0-9 +'@:]{0,8}$/), {
      minKeys: 1,
      maxKeys: 3,
    }),
    { nil: undefined },
  );

  it('verifies with the full URL the console holds, with and without a query string', async () => {
    const handlers = new Map<string, { base: string; sink: CollectingSink }>();
    await fc.assert(
      fc.asyncProperty(
        host,
        prefix,
        route,
        query,
        async (publicHost, publicPrefix, path, params) => {
          const search =
            params === undefined ? '' : `?${new URLSearchParams({ ...params, tenant: 'acme' })}`;
          const consoleUrl = `https://${publicHost}${publicPrefix}${path}${search}`;
          // Behind the proxy the app sees only the path (the public prefix stripped or not).
          const key = consoleUrl;
          let served = handlers.get(key);
          if (!served) {
            const { base, sink } = await setup({ publicUrl: consoleUrl });
            served = { base, sink };
            handlers.set(key, served);
          }
          const body = ringing();
          const response = await post(`${served.base}${path}${search}`, {
            body,
            signature: sign(consoleUrl, body),
          });
          expect(response.status).toBe(200);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('verifies with a base the request path and query are appended to', async () => {
    await fc.assert(
      fc.asyncProperty(
        host,
        prefix,
        route,
        query,
        async (publicHost, publicPrefix, path, params) => {
          const search =
            params === undefined ? '' : `?${new URLSearchParams({ ...params, tenant: 'acme' })}`;
          const publicBase = `https://${publicHost}${publicPrefix}`;
          const { base } = await setup({ publicUrl: `${publicBase}/` });
          const body = ringing();
          const signedFor = `${publicBase}${path}${search}`;
          const response = await post(`${base}${path}${search}`, {
            body,
            signature: sign(signedFor, body),
          });
          expect(response.status).toBe(200);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('verifies a console URL whose host has capitals, signed as typed (as Twilio signs it)', async () => {
    // Twilio signs the URL as configured, host case included (twilio-csharp#522); new URL()
    // lowercases the host, and every webhook was answered 403.
    const body = ringing();
    const consoleUrl = 'https://Hooks.Example.com/webhooks/twilio?tenant=acme';
    for (const publicUrl of [consoleUrl, 'https://Hooks.Example.com', () => consoleUrl] as const) {
      const { base, sink } = await setup({ publicUrl });
      const response = await post(`${base}/webhooks/twilio?tenant=acme`, {
        body,
        signature: sign(consoleUrl, body),
      });
      expect(response.status).toBe(200);
      expect(sink.events).toHaveLength(1);
      // Still the signature decides: one made for another host is refused.
      const other = await post(`${base}/webhooks/twilio?tenant=acme`, {
        body,
        signature: sign('https://Hooks.Example.org/webhooks/twilio?tenant=acme', body),
      });
      expect(other.status).toBe(403);
    }
  });

  it('verifies a console URL with connection overrides (#rc=…), signed with or without them', async () => {
    // Twilio sends no fragment; whether its signature covers one is not documented. twilio-node
    // signs the URL it is given, fragment included: accept both.
    const consoleUrl = 'https://hooks.example.com/webhooks/twilio?tenant=acme#rc=3&rp=ct,rt,5xx';
    const { base, sink } = await setup({ publicUrl: consoleUrl });
    const url = `${base}/webhooks/twilio?tenant=acme`;
    const body = ringing();
    const withOverrides = await post(url, { body, signature: sign(consoleUrl, body) });
    expect(withOverrides.status).toBe(200);
    const withoutOverrides = await post(url, {
      body,
      signature: sign('https://hooks.example.com/webhooks/twilio?tenant=acme', body),
    });
    expect(withoutOverrides.status).toBe(200);
    const otherOverrides = await post(url, {
      body,
      signature: sign('https://hooks.example.com/webhooks/twilio?tenant=acme#rc=5', body),
    });
    await expectError(otherOverrides, 403, 'invalid_signature');
    expect(sink.events).toHaveLength(1); // the second was a duplicate
  });

  it('still refuses a signature made for another URL, and tells resolveTenant the URL that verified', async () => {
    const { base, sink, tenantCalls } = await setup({
      publicUrl: 'https://hooks.example.com/webhooks/twilio?tenant=acme',
    });
    const body = ringing();
    const wrong = await post(`${base}/webhooks/twilio?tenant=acme`, {
      body,
      signature: sign('https://hooks.example.com/webhooks/other?tenant=acme', body),
    });
    await expectError(wrong, 403, 'invalid_signature');
    const right = await post(`${base}/webhooks/twilio?tenant=acme`, {
      body,
      signature: sign('https://hooks.example.com/webhooks/twilio?tenant=acme', body),
    });
    expect(right.status).toBe(200);
    expect(tenantCalls.at(-1)?.url.href).toBe(
      'https://hooks.example.com/webhooks/twilio?tenant=acme',
    );
    expect(sink.events).toHaveLength(1);
  });

  it('with an authToken lookup, tries each reading of publicUrl with the tenant it names', async () => {
    const consoleUrl = 'https://hooks.example.com/webhooks/twilio?tenant=acme';
    const lookedUp: string[] = [];
    const { base, sink, tenantCalls } = await setup({
      publicUrl: consoleUrl,
      authToken: ({ tenant, url }) => {
        lookedUp.push(`${tenant.tenantId} ${url.href}`);
        return authToken;
      },
    });
    const body = ringing().replace('To=%2B14155550100', 'To=%2B14155550111');
    // Read as a base first (the path does not fit the console URL's): no tenant in that URL.
    const response = await post(`${base}/other`, { body, signature: sign(consoleUrl, body) });
    expect(response.status).toBe(200);
    expect(tenantCalls.map((context) => context.url.href)).toEqual([
      'https://hooks.example.com/webhooks/twilio/other',
      consoleUrl,
    ]);
    expect(lookedUp).toEqual([`acme ${consoleUrl}`]);
    expect(sink.events).toHaveLength(1);
    // A reading that names a tenant but does not verify is a 403; none naming one too, so an
    // unverified caller cannot tell a known number from an unknown one.
    const forged = await post(`${base}/other`, {
      body,
      signature: sign(`${consoleUrl}&x=1`, body),
    });
    await expectError(forged, 403, 'invalid_signature');
    const noTenant = await setup({
      publicUrl: 'https://hooks.example.com/webhooks/twilio',
      authToken: () => authToken,
    });
    const unknown = await post(`${noTenant.base}/other`, {
      body,
      signature: sign(consoleUrl, body),
    });
    await expectError(unknown, 403, 'invalid_signature');
    expect(noTenant.sink.events).toEqual([]);
  });

  it('refuses a publicUrl that is not an absolute http(s) URL when created', () => {
    const options = { authToken, sink: createCollectingSink(), resolveTenant: () => null };
    for (const publicUrl of ['hooks.example.com', 'ftp://example.com', 42]) {
      expect(() =>
        createTwilioWebhookHandler({ ...options, publicUrl: publicUrl as never }),
      ).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });
});

describe('createTwilioWebhookHandler: ambiguous credentials and bounded parameters', () => {
  it('answers 400 for two different X-Twilio-Signature headers, and accepts one sent twice', async () => {
    const { base, sink } = await setup();
    const url = `${base}/webhooks/twilio`;
    const body = ringing();
    const good = computeTwilioSignature({ authToken, url, params: new URLSearchParams(body) });
    const send = (signatures: string[]) => {
      const headers = new Headers({ 'content-type': form });
      for (const value of signatures) headers.append('x-twilio-signature', value);
      return fetch(url, { method: 'POST', headers, body });
    };
    await expectError(
      await send([good, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=']),
      400,
      'ambiguous_credentials',
    );
    await expectError(
      await send(['AAAAAAAAAAAAAAAAAAAAAAAAAAA=', good]),
      400,
      'ambiguous_credentials',
    );
    expect(sink.events).toEqual([]);
    expect((await send([good, good])).status).toBe(200);
  });

  it('answers 400 for two different bodySHA256 parameters', async () => {
    const { base, sink } = await setup();
    const body = JSON.stringify({ CallSid: callSid, CallStatus: 'ringing', To: '+14155550100' });
    const hash = computeTwilioBodySha256(body);
    const url = `${base}/hook?bodySHA256=${hash}&bodySHA256=${'0'.repeat(64)}`;
    await expectError(
      await post(url, { body, contentType: 'application/json' }),
      400,
      'ambiguous_credentials',
    );
    expect(sink.events).toEqual([]);
  });

  it('answers 400 naming a parameter over 16 KiB, signed correctly, and publishes nothing', async () => {
    const { base, sink } = await setup();
    const body = `${ringing()}&SipHeader_X-Notes=${'x'.repeat(17 * 1024)}`;
    const response = await post(`${base}/webhooks/twilio`, { body });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain('"SipHeader_X-Notes" is longer than');
    expect(sink.events).toEqual([]);
  });
});

describe('createTwilioWebhookHandler: refuses from the headers alone, while the client holds the body back', () => {
  const signature = 'c2lnbmF0dXJlLW9mLXR3aWxpbw==';
  it.each([
    [
      '405 for PUT',
      { method: 'PUT', headers: { 'content-type': form } },
      405,
      'method_not_allowed',
    ],
    ['401 without a signature', { headers: { 'content-type': form } }, 401, 'missing_signature'],
    [
      '400 for two different signatures',
      {
        headers: [
          ['content-type', form],
          ['x-twilio-signature', signature],
          ['x-twilio-signature', 'b3RoZXI='],
        ] as [string, string][],
      },
      400,
      'ambiguous_credentials',
    ],
    [
      '415 for JSON without bodySHA256',
      { headers: { 'content-type': 'application/json', 'x-twilio-signature': signature } },
      415,
      'unsupported_media_type',
    ],
    [
      '413 for a declared length over the limit',
      {
        headers: { 'content-type': form, 'x-twilio-signature': signature },
        declaredBytes: 65 * 1024,
      },
      413,
      'payload_too_large',
    ],
  ])('%s', async (_case, request, status, code) => {
    const { base, sink } = await setup();
    const answer = await sendHeadersOnly(`${base}/webhooks/twilio`, request);
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
    expect(sink.events).toEqual([]);
  });

  it('403 for a client address outside allowIp, 429 once the address spent its budget', async () => {
    const headers = { 'content-type': form, 'x-twilio-signature': signature };
    const listed = await setup({ allowIp: ['203.0.113.10'] });
    expect((await sendHeadersOnly(`${listed.base}/hook`, { headers })).status).toBe(403);
    const limited = await setup({
      rateLimit: { perClientAddress: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    expect((await post(`${limited.base}/webhooks/twilio`, { body: ringing() })).status).toBe(200);
    const answer = await sendHeadersOnly(`${limited.base}/webhooks/twilio`, { headers });
    expect(answer.status).toBe(429);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('createTwilioWebhookHandler: one shape with the other providers', () => {
  it('refuses missing options when created, instead of answering 403 forever', () => {
    const sink = createCollectingSink();
    const resolveTenant = () => null;
    for (const options of [
      { authToken: '', sink, resolveTenant },
      { authToken: [], sink, resolveTenant },
      { authToken: undefined, sink, resolveTenant },
      { authToken, sink: undefined, resolveTenant },
      { authToken, sink, resolveTenant: undefined },
      { authToken, sink, resolveTenant, onError: 'console' },
      // Not a 500 on every webhook (`clock.now is not a function`).
      { authToken, sink, resolveTenant, clock: Date.now },
      undefined,
    ]) {
      expect(() => createTwilioWebhookHandler(options as never)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
  });

  it('reports 4xx answers to onError too, and limits per tenant after verification', async () => {
    const { base, errors, sink } = await setup({
      rateLimit: { perTenant: new RateLimiterMemory({ points: 1, duration: 60 }) },
    });
    await expectError(
      await post(`${base}/webhooks/twilio`, { body: ringing(), token: 'forged' }),
      403,
      'invalid_signature',
    );
    expect(errors).toEqual([expect.objectContaining({ status: 403, code: 'invalid_signature' })]);
    expect((await post(`${base}/webhooks/twilio`, { body: ringing() })).status).toBe(200);
    await expectError(
      await post(`${base}/webhooks/twilio`, { body: completed() }),
      429,
      'rate_limited',
    );
    expect(sink.events).toHaveLength(1);
  });
});

describe('createTwilioWebhookHandler: the fetch handler and the Node fast path answer alike', () => {
  const cases: [string, number, (url: string) => PostOptions][] = [
    ['a status callback', 200, () => ({ body: completed() })],
    ['no signature', 401, () => ({ body: completed(), signature: null })],
    [
      'a wrong signature',
      403,
      () => ({ body: completed(), token: 'another-token-0123456789abcdef' }),
    ],
    ['a wrong content type', 415, () => ({ body: completed(), contentType: 'text/plain' })],
    ['two different signatures', 400, () => ({ body: completed(), signature: 'YQ==, Yg==' })],
    ['a payload missing CallStatus', 400, () => ({ body: `CallSid=${callSid}&To=%2B14155550100` })],
    [
      'an unknown tenant',
      422,
      () => ({ body: completed().replaceAll('%2B14155550100', '%2B19995550100') }),
    ],
    ['a body over the limit', 413, () => ({ body: `${completed()}&Pad=${'x'.repeat(70_000)}` })],
    ['a GET', 405, () => ({ body: '', method: 'GET' })],
    [
      'repeated parameters and one named __proto__, all signed',
      200,
      () => ({ body: `${completed()}&Digits=2&Digits=1&__proto__=x&constructor=y` }),
    ],
  ];
  it.each(cases)('%s: %i', async (_case, status, options) => {
    const fast = await setup({}, 'fast');
    const viaFetch = await setup({}, 'fetch');
    const answers = [];
    for (const { base } of [fast, viaFetch]) {
      const url = `${base}/webhooks/twilio`;
      const { method, ...rest } = options(url);
      const response =
        method === 'GET'
          ? await fetch(url)
          : await post(url, { ...rest, ...(method ? { method } : {}) });
      answers.push({
        status: response.status,
        type: response.headers.get('content-type'),
        allow: response.headers.get('allow'),
        body: await response.json(),
      });
    }
    expect(answers[0]!.status).toBe(status);
    expect(answers[0]).toEqual(answers[1]);
    expect(fast.sink.events).toEqual(
      viaFetch.sink.events.map((event) => ({
        ...event,
        receivedAt: expect.any(String),
      })),
    );
    expect(fast.errors.map(String)).toEqual(viaFetch.errors.map(String));
  });

  it('hands the app callbacks a Request whose body was read, on both paths', async () => {
    for (const mount of ['fast', 'fetch'] as const) {
      const seen: { bodyUsed: boolean; url: string; signature: string | null }[] = [];
      const { base } = await setup(
        {
          authToken: ({ request }) => {
            seen.push({
              bodyUsed: request.bodyUsed,
              url: request.url,
              signature: request.headers.get('x-twilio-signature'),
            });
            return authToken;
          },
          resolveTenant: ({ request }) => {
            seen.push({
              bodyUsed: request.bodyUsed,
              url: request.url,
              signature: request.headers.get('x-twilio-signature'),
            });
            return { tenantId: 'acme' };
          },
        },
        mount,
      );
      const url = `${base}/webhooks/twilio?tenant=acme`;
      expect((await post(url, { body: completed() })).status).toBe(200);
      expect(seen).toEqual([
        { bodyUsed: true, url, signature: expect.any(String) },
        { bodyUsed: true, url, signature: expect.any(String) },
      ]);
    }
  });
});

describe('createTwilioWebhookHandler with an Auth Token lookup: what an unverified caller learns', () => {
  it('answers a malformed payload 400 before the signature, and an unknown tenant the 403 of a wrong signature, its 422 as the cause', async () => {
    const { base, sink, errors } = await setup({ authToken: () => authToken });
    // No CallSid, signed with a token that is not the tenant's: 400, the signature never checked.
    const malformed = ringing().replace(`CallSid=${callSid}&`, '');
    const unsigned = await post(`${base}/hook`, { body: malformed, token: 'someone-elses-token' });
    await expectError(unsigned, 400, 'invalid_payload');

    // A number no tenant has, correctly signed: the same 403 as a wrong signature.
    const unknown = ringing().replace(/To=[^&]*/, `To=${encodeURIComponent('+14155550999')}`);
    expect(unknown).not.toBe(ringing());
    const refused = await post(`${base}/hook`, { body: unknown });
    await expectError(refused, 403, 'invalid_signature');
    const forged = await post(`${base}/hook`, { body: unknown, token: 'someone-elses-token' });
    await expectError(forged, 403, 'invalid_signature');
    const reported = errors.at(-2) as Error;
    expect(InvalidSignatureError.isInstance(reported)).toBe(true);
    expect(UnknownTenantError.isInstance(reported.cause)).toBe(true);
    expect(sink.events).toEqual([]);
  });
});

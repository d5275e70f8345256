import { createMemoryBus } from '@calltrack/bus';
import { BusUnavailableError, type CallEvent } from '@calltrack/core';
import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  createCollectingSink,
  createFixtureLoader,
  listen,
  sendHeadersOnly,
} from '@calltrack/test-utils';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type CreateRetellWebhookHandlerOptions,
  createRetellWebhookHandler,
  type RetellTenantContext,
} from './create-retell-webhook-handler';
import { retellWebhookIpAddresses } from './retell-webhook-ip-addresses';
import { signRetellWebhook } from './sign-retell-webhook';

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));

const apiKey = 'key_webhook_0123456789abcdef';
const now = 1714608600000; // 2024-05-02T00:10:00Z

afterEach(closeServers);

/**
 * Behind `toNodeHandler`: `fast` mounts the handler itself (the bridge runs it straight on Node's
 * request), `fetch` hides it behind a plain fetch function (the bridge builds a `Request`, as for
 * Next.js and every other runtime).
 */
async function setup(
  options: Partial<CreateRetellWebhookHandlerOptions> = {},
  mount: 'fast' | 'fetch' = 'fast',
) {
  const sink = createCollectingSink();
  const resolveTenant = vi.fn(
    async (_context: RetellTenantContext) => ({ tenantId: 'acme' }) as { tenantId: string } | null,
  );
  const handler = createRetellWebhookHandler({
    apiKey,
    sink,
    resolveTenant,
    clock: { now: () => now },
    ...options,
  });
  const base = await listen(
    toNodeHandler(mount === 'fast' ? handler : (request, context) => handler(request, context)),
  );
  return { sink, resolveTenant, url: `${base}/webhooks/retell` };
}

interface SendOptions {
  body?: string;
  signature?: string | null;
  contentType?: string | null;
  method?: string;
  key?: string;
  timestamp?: number;
}

function send(url: string, options: SendOptions = {}) {
  const body = options.body ?? loadFixture('retell-call-started.json').text;
  const headers: Record<string, string> = {};
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const signature =
    options.signature === undefined
      ? signRetellWebhook({
          apiKey: options.key ?? apiKey,
          body,
          timestamp: options.timestamp ?? now,
        })
      : options.signature;
  if (signature !== null) headers['x-retell-signature'] = signature;
  const method = options.method ?? 'POST';
  return fetch(url, {
    method,
    headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
  });
}

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(await response.json()).toMatchObject({ error: { code } });
}

describe('createRetellWebhookHandler', () => {
  it('verifies, parses and publishes a webhook', async () => {
    const { sink, url, resolveTenant } = await setup();
    const response = await send(url);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, published: 2, duplicates: 0 });
    expect(sink.events.map((event) => event.type)).toEqual(['call.initiated', 'call.answered']);
    expect(sink.events[0]).toMatchObject({
      tenantId: 'acme',
      provider: 'retell',
      callId: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
      receivedAt: new Date(now).toISOString(),
    });
    expect(sink.events[0]).not.toHaveProperty('raw');
    expect(resolveTenant).toHaveBeenCalledTimes(1);
  });

  it('verifies the raw bytes of a body with non-ASCII text', async () => {
    const { sink, url } = await setup();
    const response = await send(url, { body: loadFixture('retell-call-analyzed.json').text });
    expect(response.status).toBe(200);
    expect(sink.events[0]?.data.analysis).toMatchObject({ userSentiment: 'Positive' });
  });

  it('tells resolveTenant the tenant-side number, agent and call', async () => {
    const { url, resolveTenant } = await setup();
    await send(url, { body: loadFixture('retell-call-started.json').text });
    await send(url, { body: loadFixture('retell-call-ended.json').text });
    const [inbound, outbound] = resolveTenant.mock.calls.map(([context]) => context);
    expect(inbound).toMatchObject({
      event: 'call_started',
      callId: 'Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6',
      agentId: 'oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD',
      direction: 'inbound',
      from: '+12137774445',
      to: '+14157774444',
      number: '+14157774444',
    });
    expect(outbound).toMatchObject({
      event: 'call_ended',
      direction: 'outbound',
      number: '+14157774444',
      metadata: { leadId: 'lead_1029', campaign: 'recall-may' },
    });
    expect(outbound?.request).toBeInstanceOf(Request);
  });

  it('answers 200 to a duplicate and publishes it once', async () => {
    const { sink, url } = await setup();
    const first = await send(url);
    // Retell's retry is signed again, later; the events are the same.
    const retry = await send(url, { timestamp: now - 1000 });
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true, published: 0, duplicates: 2 });
    expect(sink.events).toHaveLength(2);
  });

  it('answers 200 and publishes nothing for events it does not map', async () => {
    const { sink, url, resolveTenant } = await setup();
    const response = await send(url, { body: loadFixture('retell-chat-started.json').text });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ published: 0, ignored: 'chat_started' });
    expect(sink.events).toEqual([]);
    expect(resolveTenant).not.toHaveBeenCalled();
  });

  it('attaches raw when includeRaw is set', async () => {
    const { sink, url } = await setup({ includeRaw: true });
    await send(url);
    expect(sink.events[0]?.raw).toEqual(loadFixture('retell-call-started.json').json);
  });

  describe('refuses, publishing nothing', () => {
    it('405 for another method', async () => {
      const { sink, url } = await setup();
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const response = await send(url, { method });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
        await response.body?.cancel();
      }
      expect(sink.events).toEqual([]);
    });

    it('415 for a body that is not JSON', async () => {
      const { sink, url } = await setup();
      await expectError(
        await send(url, { contentType: 'application/x-www-form-urlencoded' }),
        415,
        'unsupported_media_type',
      );
      await expectError(await send(url, { contentType: null }), 415, 'unsupported_media_type');
      await expectError(
        await send(url, { contentType: 'text/plain' }),
        415,
        'unsupported_media_type',
      );
      expect(sink.events).toEqual([]);
    });

    it('takes application/json with a charset and application/*+json, as the guide says', async () => {
      const { sink, url } = await setup();
      for (const contentType of [
        'application/json; charset=utf-8',
        'application/vnd.retell+json',
        'Application/JSON',
      ]) {
        const response = await send(url, { contentType });
        expect(response.status, contentType).toBe(200);
      }
      // The same webhook three times: published once, then duplicates.
      expect(sink.events).toHaveLength(2);
    });

    it('401 without a signature', async () => {
      const { sink, url, resolveTenant } = await setup();
      await expectError(await send(url, { signature: null }), 401, 'missing_signature');
      await expectError(await send(url, { signature: '  ' }), 401, 'missing_signature');
      expect(sink.events).toEqual([]);
      expect(resolveTenant).not.toHaveBeenCalled();
    });

    it('403 for a wrong, malformed or expired signature', async () => {
      const { sink, url, resolveTenant } = await setup();
      await expectError(await send(url, { key: 'another-key' }), 403, 'invalid_signature');
      await expectError(await send(url, { signature: 'v=1,d=abc' }), 403, 'invalid_signature');
      await expectError(
        await send(url, { timestamp: now - 5 * 60 * 1000 - 1 }),
        403,
        'invalid_signature',
      );
      await expectError(
        await send(url, { timestamp: now + 5 * 60 * 1000 + 1 }),
        403,
        'invalid_signature',
      );
      expect(sink.events).toEqual([]);
      expect(resolveTenant).not.toHaveBeenCalled();
    });

    it('403 for a re-serialized body', async () => {
      const { sink, url } = await setup();
      const text = loadFixture('retell-call-analyzed.json').text;
      const signature = signRetellWebhook({ apiKey, body: text, timestamp: now });
      const response = await send(url, { body: JSON.stringify(JSON.parse(text)), signature });
      await expectError(response, 403, 'invalid_signature');
      expect(sink.events).toEqual([]);
    });

    it('400 for malformed JSON or a missing field, even when signed', async () => {
      const { sink, url } = await setup();
      await expectError(await send(url, { body: '{"event":' }), 400, 'invalid_payload');
      const response = await send(url, { body: '{"event":"call_ended","call":{"agent_id":"a"}}' });
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toContain('"call.call_id" is required');
      expect(sink.events).toEqual([]);
    });

    it('413 above the body limit', async () => {
      const { sink, url } = await setup({ maxBodyBytes: 1024 });
      await expectError(
        await send(url, { body: loadFixture('retell-call-ended.json').text }),
        413,
        'payload_too_large',
      );
      expect(sink.events).toEqual([]);
    });

    it('takes 2 MiB by default (the guides say so) and answers 413 one byte past it', async () => {
      const { sink, url } = await setup();
      const text = loadFixture('retell-call-started.json').text;
      const limit = 2 * 1024 * 1024;
      const padded = (bytes: number) => `${text}${' '.repeat(bytes - Buffer.byteLength(text))}`;
      expect((await send(url, { body: padded(limit) })).status).toBe(200);
      expect(sink.events).toHaveLength(2);
      await expectError(await send(url, { body: padded(limit + 1) }), 413, 'payload_too_large');
      expect(sink.events).toHaveLength(2);
    });

    it('413 above the body limit when the body is streamed without a length', async () => {
      const { sink, url } = await setup({ maxBodyBytes: 1024 });
      const text = loadFixture('retell-call-ended.json').text;
      const bytes = new TextEncoder().encode(text);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < bytes.length; offset += 512) {
            controller.enqueue(bytes.slice(offset, offset + 512));
          }
          controller.close();
        },
      });
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-retell-signature': signRetellWebhook({ apiKey, body: text, timestamp: now }),
        },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      await expectError(response, 413, 'payload_too_large');
      expect(sink.events).toEqual([]);
    });

    it('422 when no tenant matches', async () => {
      const { sink, url, resolveTenant } = await setup();
      resolveTenant.mockResolvedValue(null);
      await expectError(await send(url), 422, 'unknown_tenant');
      expect(sink.events).toEqual([]);
    });

    it('403 when the client address is not allowed', async () => {
      const { sink, url } = await setup({ allowIp: retellWebhookIpAddresses });
      await expectError(await send(url), 403, 'address_not_allowed');
      expect(sink.events).toEqual([]);
    });
  });

  it('accepts allowed client addresses, from a list or a function', async () => {
    const listed = await setup({ allowIp: ['::ffff:127.0.0.1'] });
    expect((await send(listed.url)).status).toBe(200);
    const decide = vi.fn(async (address: string | undefined) => address === '127.0.0.1');
    const decided = await setup({ allowIp: decide });
    expect((await send(decided.url)).status).toBe(200);
    expect(decide).toHaveBeenCalledWith('127.0.0.1', expect.any(Request));
  });

  it('answers 5xx when the sink fails, and publishes on the retry', async () => {
    const onError = vi.fn();
    const { sink, url } = await setup({ onError });
    sink.failWith = new Error('database is down');
    await expectError(await send(url), 500, 'publish_failed');
    sink.failWith = new BusUnavailableError({ message: 'Redis unreachable' });
    await expectError(await send(url), 503, 'bus_unavailable');
    expect(sink.events).toEqual([]);
    expect(onError).toHaveBeenCalledTimes(2);
    sink.failWith = undefined;
    expect((await send(url)).status).toBe(200);
    expect(sink.events).toHaveLength(2);
  });

  // What the READMEs promise for a sink that fails part-way: events are published one at a time,
  // so the ones before the failure are out; Retell's retry publishes the rest, and the first
  // becomes a duplicate the bus drops.
  it('keeps what was published before a sink failure, and the retry publishes the rest once', async () => {
    const bus = createMemoryBus();
    const accepted: { type: string; duplicate: boolean }[] = [];
    let failOnAnswered = true;
    const sink = {
      publish: async (event: CallEvent) => {
        if (event.type === 'call.answered' && failOnAnswered) {
          failOnAnswered = false;
          throw new BusUnavailableError({ message: 'Redis went away' });
        }
        const result = await bus.publish(event);
        accepted.push({ type: event.type, duplicate: result.duplicate });
        return result;
      },
    };
    const { url } = await setup({ sink });
    await expectError(await send(url), 503, 'bus_unavailable');
    expect(accepted).toEqual([{ type: 'call.initiated', duplicate: false }]);

    const retry = await send(url);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual({ ok: true, published: 1, duplicates: 1 });
    expect(accepted).toEqual([
      { type: 'call.initiated', duplicate: false },
      { type: 'call.initiated', duplicate: true },
      { type: 'call.answered', duplicate: false },
    ]);
    await bus.close();
  });

  it('answers 500 when resolveTenant throws or returns an invalid tenant', async () => {
    const { sink, url, resolveTenant } = await setup();
    resolveTenant.mockRejectedValueOnce(new Error('lookup failed'));
    await expectError(await send(url), 500, 'internal_error');
    resolveTenant.mockResolvedValueOnce({ tenantId: 'has spaces' });
    await expectError(await send(url), 500, 'invalid_tenant');
    expect(sink.events).toEqual([]);
  });

  it('survives an onError that throws', async () => {
    const { url } = await setup({
      onError: () => {
        throw new Error('logger broke');
      },
    });
    await expectError(await send(url, { signature: null }), 401, 'missing_signature');
  });

  describe('with a per-tenant API key lookup', () => {
    const keys: Record<string, string> = { acme: apiKey, globex: 'key_globex_fedcba9876543210' };
    const byNumber: Record<string, string> = { '+14157774444': 'acme', '+14155550000': 'globex' };

    async function setupLookup(options: Partial<CreateRetellWebhookHandlerOptions> = {}) {
      const lookup = vi.fn(
        async ({ tenant }: { tenant: { tenantId: string } }) => keys[tenant.tenantId],
      );
      const setupResult = await setup({
        ...options,
        apiKey: lookup,
        resolveTenant: async ({ number }) =>
          number !== undefined && byNumber[number] ? { tenantId: byNumber[number] } : null,
      });
      return { ...setupResult, lookup };
    }

    it('verifies with the key of the resolved tenant', async () => {
      const { sink, url, lookup } = await setupLookup();
      expect((await send(url)).status).toBe(200);
      expect(lookup).toHaveBeenCalledWith(
        expect.objectContaining({ tenant: { tenantId: 'acme' }, number: '+14157774444' }),
      );
      expect(sink.events).toHaveLength(2);
    });

    it("refuses another tenant's key", async () => {
      const { sink, url } = await setupLookup();
      await expectError(await send(url, { key: keys.globex }), 403, 'invalid_signature');
      expect(sink.events).toEqual([]);
    });

    it('answers a wrong key, a tenant without a key and an unknown number alike', async () => {
      // Unverified callers must not learn which numbers belong to tenants.
      const errors: unknown[] = [];
      const { sink, url, lookup } = await setupLookup({ onError: (error) => errors.push(error) });
      const wrongKey = await send(url, { key: 'key_forged_0123456789' });
      lookup.mockResolvedValueOnce(undefined);
      const withoutKey = await send(url);
      const body = loadFixture('retell-call-started.json').text.replaceAll(
        '+14157774444',
        '+19998887777',
      );
      const unknownNumber = await send(url, { body, key: 'key_forged_0123456789' });
      const answers = [];
      for (const response of [wrongKey, withoutKey, unknownNumber]) {
        answers.push({ status: response.status, body: await response.json() });
      }
      expect(answers[0]).toMatchObject({
        status: 403,
        body: { error: { code: 'invalid_signature' } },
      });
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      expect(lookup).toHaveBeenCalledTimes(2);
      // The app's logs get the real reason.
      expect(errors[1]).toMatchObject({
        code: 'invalid_signature',
        cause: expect.objectContaining({
          message: 'No Retell API key is configured for this tenant.',
        }),
      });
      expect(errors[2]).toMatchObject({
        code: 'invalid_signature',
        cause: expect.objectContaining({ code: 'unknown_tenant', status: 422 }),
      });
      expect(sink.events).toEqual([]);
    });
  });

  it('answers an event it does not map 200 and publishes nothing; with a key lookup without verifying it', async () => {
    // Retell's inbound-call webhook, which a misconfigured URL may send here (the guide).
    const inbound = JSON.stringify({
      event: 'call_inbound',
      call_inbound: {
        agent_id: 'oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD',
        from_number: '+14155550123',
        to_number: '+14157774444',
      },
    });
    const chat = loadFixture('retell-chat-started.json').text;
    const fixed = await setup();
    const answer = await send(fixed.url, { body: inbound });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ ok: true, published: 0, ignored: 'call_inbound' });
    // With a static key the signature is still checked first.
    await expectError(
      await send(fixed.url, { body: inbound, key: 'key_forged_0123456789' }),
      403,
      'invalid_signature',
    );

    const lookup = vi.fn(async () => apiKey);
    const { sink, url, resolveTenant } = await setup({ apiKey: lookup });
    for (const body of [inbound, chat]) {
      const response = await send(url, { body, key: 'key_forged_0123456789' });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ ok: true, published: 0 });
    }
    expect(lookup).not.toHaveBeenCalled();
    expect(resolveTenant).not.toHaveBeenCalled();
    expect(sink.events).toEqual([]);
    expect(fixed.sink.events).toEqual([]);
  });

  it('accepts any of several API keys during a rotation, and nothing else', async () => {
    const newKey = 'key_webhook_rotated_fedcba98';
    const { sink, url } = await setup({ apiKey: [newKey, apiKey] });
    expect((await send(url)).status).toBe(200);
    const ended = loadFixture('retell-call-ended.json').text;
    expect((await send(url, { body: ended, key: newKey })).status).toBe(200);
    await expectError(await send(url, { key: 'key_retired_0000' }), 403, 'invalid_signature');
    expect(sink.events.length).toBeGreaterThan(0);
    const lookup = await setup({ apiKey: async () => [newKey, apiKey] });
    expect((await send(lookup.url)).status).toBe(200);
  });

  it('refuses missing options when created', () => {
    const sink = createCollectingSink();
    const resolveTenant = async () => ({ tenantId: 'a' });
    for (const options of [
      { apiKey: '', sink, resolveTenant },
      { apiKey: [], sink, resolveTenant },
      { apiKey: [apiKey, ''], sink, resolveTenant },
      { apiKey: undefined, sink, resolveTenant },
      { apiKey, sink: undefined, resolveTenant },
      { apiKey, sink, resolveTenant: 'acme' },
      // A tolerance nothing is within (`Number(process.env.UNSET)`, a negative one) answered
      // every genuine webhook 403, and Retell's were lost.
      { apiKey, sink, resolveTenant, toleranceMs: Number.NaN },
      { apiKey, sink, resolveTenant, toleranceMs: -1 },
      { apiKey, sink, resolveTenant, toleranceMs: '300000' },
      { apiKey, sink, resolveTenant, clock: Date.now },
      undefined,
    ]) {
      expect(() => createRetellWebhookHandler(options as never)).toThrow(
        expect.objectContaining({ code: 'invalid_argument' }),
      );
    }
  });

  describe('bounds what Retell may send (a 400 naming the field, nothing published)', () => {
    function nested(depth: number): unknown {
      let value: unknown = { leaf: true };
      for (let level = 0; level < depth; level += 1) value = { a: value };
      return value;
    }

    function withCall(fields: Record<string, unknown>, rawFields = ''): string {
      const payload = loadFixture('retell-call-ended.json').json as {
        call: Record<string, unknown>;
      };
      const text = JSON.stringify({ ...payload, call: { ...payload.call, ...fields } });
      // Text spliced in as is: JSON.stringify itself overflows the stack on 20,000 levels.
      return rawFields === '' ? text : text.replace('"call":{', `"call":{${rawFields},`);
    }

    it('refuses call.metadata nested 20,000 levels deep, signed correctly', async () => {
      const { sink, url, resolveTenant } = await setup();
      const depth = 20_000;
      const body = withCall(
        { metadata: undefined },
        `"metadata":${'{"a":'.repeat(depth)}{}${'}'.repeat(depth)}`,
      );
      expect(body.length).toBeLessThan(2 * 1024 * 1024);
      const response = await send(url, { body });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: 'invalid_payload',
          message: 'Invalid Retell webhook: "call.metadata" is nested deeper than 16 levels.',
        },
      });
      expect(sink.events).toEqual([]);
      expect(resolveTenant).not.toHaveBeenCalled();
    });

    it('refuses oversized or deep dynamic variables, analysis and transcript objects', async () => {
      const { sink, url } = await setup();
      const cases: [Record<string, unknown>, string][] = [
        [
          { retell_llm_dynamic_variables: { notes: 'x'.repeat(300 * 1024) } },
          'call.retell_llm_dynamic_variables',
        ],
        [{ call_analysis: { custom_analysis_data: nested(40) } }, 'call.call_analysis'],
        [
          { transcript_object: [{ role: 'agent', content: 'hi', words: [nested(30)] }] },
          'call.transcript_object',
        ],
      ];
      for (const [fields, field] of cases) {
        const response = await send(url, { body: withCall(fields) });
        expect(response.status).toBe(400);
        expect((await response.json()).error.message).toContain(`"${field}"`);
      }
      expect(sink.events).toEqual([]);
    });

    it('accepts a long call: a transcript with word timings well past 256 KiB', async () => {
      const { sink, url } = await setup();
      const words = Array.from({ length: 3000 }, (_, index) => ({
        word: `word${index}`,
        start: index * 0.4,
        end: index * 0.4 + 0.3,
      }));
      const turns = Array.from({ length: 8 }, (_, turn) => ({
        role: turn % 2 === 0 ? 'agent' : 'user',
        content: words.map((word) => word.word).join(' '),
        words,
      }));
      const body = withCall({ transcript_object: turns, metadata: nested(8) });
      expect(body.length).toBeGreaterThan(1024 * 1024);
      const response = await send(url, { body });
      expect(response.status).toBe(200);
      expect(sink.events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
    });

    it('publishes a long call whose payload is over the raw limit, without raw', async () => {
      // A call of well over an hour: word timings take the body past the 2 MiB raw may hold.
      const bus = createMemoryBus();
      const events: CallEvent[] = [];
      const sink = {
        publish: async (event: CallEvent) => {
          const result = await bus.publish(event);
          events.push(event);
          return result;
        },
      };
      const { url } = await setup({
        sink,
        includeRaw: true,
        maxBodyBytes: 4 * 1024 * 1024,
      });
      const words = Array.from({ length: 4000 }, (_, index) => ({
        word: `word${index}`,
        start: index * 0.4,
        end: index * 0.4 + 0.3,
      }));
      const turns = Array.from({ length: 13 }, (_, turn) => ({
        role: turn % 2 === 0 ? 'agent' : 'user',
        content: `Turn ${turn}.`,
        words,
      }));
      const body = withCall({ transcript_object: turns, transcript: 'Agent: Hi.' });
      expect(body.length).toBeGreaterThan(2.5 * 1024 * 1024);
      const response = await send(url, { body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, published: 2, duplicates: 0 });
      expect(events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
      for (const event of events) {
        expect(event).not.toHaveProperty('raw');
        expect(event.data.rawOmitted).toBe('length');
      }
      expect(events[0]?.data).toMatchObject({ transcript: 'Agent: Hi.', durationMs: 15791 });
      await bus.close();
    });

    it("publishes the end of a call whose transcript passes what an event's data may hold, without the transcript", async () => {
      // Was a 400: Retell retried three times, the end was lost and the reaper later marked the
      // call failed. The transcript stays at Retell (get-call); data says it was left out.
      const bus = createMemoryBus();
      const events: CallEvent[] = [];
      const sink = {
        publish: async (event: CallEvent) => {
          const result = await bus.publish(event);
          events.push(event);
          return result;
        },
      };
      const { url } = await setup({ sink });
      const metadata = { crm: { leadId: 'L-881' } };
      const body = withCall({ transcript: 'x'.repeat(1100 * 1024), metadata });
      const response = await send(url, { body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, published: 2, duplicates: 0 });
      expect(events.map((event) => event.type)).toEqual(['call.ended', 'call.recording']);
      const [ended, recording] = events;
      expect(ended).toMatchObject({
        status: 'completed',
        data: { durationMs: 15791, metadata, omittedFields: ['transcript'] },
      });
      expect(ended?.data).not.toHaveProperty('transcript');
      // The recording event never held the transcript: it is whole.
      expect(recording?.data).toMatchObject({ metadata });
      expect(recording?.data).not.toHaveProperty('omittedFields');
      await bus.close();
    });

    it('leaves out the transcript first, then the analysis, until call_analyzed leaves the tracker room for its snapshot', async () => {
      const bus = createMemoryBus();
      const events: CallEvent[] = [];
      const sink = {
        publish: async (event: CallEvent) => {
          const result = await bus.publish(event);
          events.push(event);
          return result;
        },
      };
      const { url } = await setup({ sink });
      // Analysis and metadata within their 256 KiB each; a log URL only the body limit bounds.
      const analyzed = loadFixture('retell-call-analyzed.json').json as {
        call: Record<string, unknown>;
      };
      const call = {
        ...analyzed.call,
        transcript: 'Agent: Hi.',
        call_analysis: { call_summary: 'A call.', notes: 'y'.repeat(240 * 1024) },
        metadata: { notes: 'y'.repeat(240 * 1024) },
        public_log_url: `https://example.com/${'z'.repeat(500 * 1024)}`,
      };
      const response = await send(url, { body: JSON.stringify({ ...analyzed, call }) });
      expect(response.status).toBe(200);
      const [event] = events;
      expect(event?.type).toBe('call.analyzed');
      expect(event?.data.omittedFields).toEqual(['transcript', 'analysis']);
      expect(event?.data).not.toHaveProperty('analysis');
      expect(event?.data).toMatchObject({
        metadata: call.metadata,
        publicLogUrl: call.public_log_url,
      });
      // The tracker keeps 128 KiB of an event's 1 MiB of data for the call snapshot it adds.
      expect(JSON.stringify(event?.data).length).toBeLessThanOrEqual(1024 * 1024 - 128 * 1024);
      await bus.close();
    });
  });

  describe('refuses from the headers alone, while the client holds the body back', () => {
    const signature = signRetellWebhook({ apiKey, body: '{}', timestamp: now });
    const json = { 'content-type': 'application/json' };

    it.each([
      ['405 for GET', { method: 'GET', headers: {} }, 405, 'method_not_allowed'],
      [
        '415 without JSON',
        { headers: { 'content-type': 'text/plain', 'x-retell-signature': signature } },
        415,
        'unsupported_media_type',
      ],
      ['401 without a signature', { headers: json }, 401, 'missing_signature'],
      [
        '400 for two different signatures',
        {
          headers: [
            ['content-type', 'application/json'],
            ['x-retell-signature', signature],
            ['x-retell-signature', signRetellWebhook({ apiKey, body: '{}', timestamp: now + 1 })],
          ] as [string, string][],
        },
        400,
        'ambiguous_credentials',
      ],
      [
        '413 for a declared length over the limit',
        { headers: { ...json, 'x-retell-signature': signature }, declaredBytes: 3 * 1024 * 1024 },
        413,
        'payload_too_large',
      ],
    ])('%s', async (_case, request, status, code) => {
      const { sink, url } = await setup();
      const answer = await sendHeadersOnly(url, request);
      expect(answer.status).toBe(status);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code } });
      expect(sink.events).toEqual([]);
    });

    it('403 for a client address outside allowIp, 429 once the address spent its budget', async () => {
      const headers = { ...json, 'x-retell-signature': signature };
      const listed = await setup({ allowIp: retellWebhookIpAddresses });
      expect((await sendHeadersOnly(listed.url, { headers })).status).toBe(403);
      const limited = await setup({
        rateLimit: { perClientAddress: new RateLimiterMemory({ points: 1, duration: 60 }) },
      });
      expect((await send(limited.url)).status).toBe(200);
      const answer = await sendHeadersOnly(limited.url, { headers });
      expect(answer.status).toBe(429);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  it('answers 400 when x-retell-signature arrives twice with different values, and accepts a repeat of the same one', async () => {
    const { sink, url } = await setup();
    const body = loadFixture('retell-call-started.json').text;
    const good = signRetellWebhook({ apiKey, body, timestamp: now });
    const other = signRetellWebhook({ apiKey: 'another-key', body, timestamp: now });
    const post = (signatures: string[]) => {
      const headers = new Headers({ 'content-type': 'application/json' });
      for (const value of signatures) headers.append('x-retell-signature', value);
      return fetch(url, { method: 'POST', headers, body });
    };
    await expectError(await post([good, other]), 400, 'ambiguous_credentials');
    await expectError(await post([other, good]), 400, 'ambiguous_credentials');
    expect(sink.events).toEqual([]);
    expect((await post([good, good])).status).toBe(200);
  });

  it('limits per tenant once the webhook is verified', async () => {
    const perTenant = new RateLimiterMemory({ points: 1, duration: 60 });
    const { sink, url } = await setup({ rateLimit: { perTenant } });
    // A forged webhook naming the tenant does not spend its budget.
    await expectError(await send(url, { key: 'forger' }), 403, 'invalid_signature');
    expect((await send(url)).status).toBe(200);
    const limited = await send(url, { body: loadFixture('retell-call-ended.json').text });
    await expectError(limited, 429, 'rate_limited');
    expect(sink.events.map((event) => event.type)).toEqual(['call.initiated', 'call.answered']);
  });
});

describe('createRetellWebhookHandler: the fetch handler and the Node fast path answer alike', () => {
  const started = () => loadFixture('retell-call-started.json').text;
  const cases: [string, number, SendOptions][] = [
    ['a call webhook', 200, {}],
    ['an event it does not map', 200, { body: loadFixture('retell-chat-started.json').text }],
    ['no signature', 401, { signature: null }],
    ['a wrong key', 403, { key: 'another-key' }],
    ['an expired signature', 403, { timestamp: now - 60 * 60 * 1000 }],
    ['a wrong content type', 415, { contentType: 'text/plain' }],
    ['a body that is not JSON', 400, { body: '{"event":' }],
    ['an unknown tenant', 422, { body: started().replaceAll('+14157774444', '+19995550100') }],
    ['a body over the limit', 413, { body: `${started()}${' '.repeat(3 * 1024 * 1024)}` }],
    ['a GET', 405, { method: 'GET' }],
  ];
  it.each(cases)('%s: %i', async (_case, status, options) => {
    const answers = [];
    const published = [];
    const reported = [];
    for (const mount of ['fast', 'fetch'] as const) {
      const errors: unknown[] = [];
      const { sink, url } = await setup(
        {
          resolveTenant: ({ number }) => (number === '+14157774444' ? { tenantId: 'acme' } : null),
          onError: (error) => errors.push(error),
        },
        mount,
      );
      const response = await send(url, options);
      answers.push({
        status: response.status,
        type: response.headers.get('content-type'),
        allow: response.headers.get('allow'),
        body: await response.json(),
      });
      published.push(sink.events);
      reported.push(errors.map(String));
    }
    expect(answers[0]!.status).toBe(status);
    expect(answers[0]).toEqual(answers[1]);
    expect(published[0]).toEqual(published[1]);
    expect(reported[0]).toEqual(reported[1]);
  });

  it('hands the app callbacks a Request whose body was read, on both paths', async () => {
    for (const mount of ['fast', 'fetch'] as const) {
      const seen: { bodyUsed: boolean; url: string; signature: string | null }[] = [];
      const { url } = await setup(
        {
          apiKey: ({ request }) => {
            seen.push({
              bodyUsed: request.bodyUsed,
              url: request.url,
              signature: request.headers.get('x-retell-signature'),
            });
            return apiKey;
          },
          resolveTenant: ({ request }) => {
            seen.push({
              bodyUsed: request.bodyUsed,
              url: request.url,
              signature: request.headers.get('x-retell-signature'),
            });
            return { tenantId: 'acme' };
          },
        },
        mount,
      );
      expect((await send(url)).status).toBe(200);
      expect(seen).toEqual([
        { bodyUsed: true, url, signature: expect.any(String) },
        { bodyUsed: true, url, signature: expect.any(String) },
      ]);
    }
  });
});

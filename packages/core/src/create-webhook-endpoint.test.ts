import {
  connectTestRedis,
  deleteKeys,
  startOwnRedisServer,
  stopOwnRedisServer,
  uniquePrefix,
} from '@calltrack/test-utils';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createWebhookEndpoint, type WebhookEndpointOptions } from './create-webhook-endpoint';
import { MissingSignatureError } from './errors/missing-signature-error';
import { jsonResponse } from './json-response';

const redis = await connectTestRedis();
const prefix = uniquePrefix('webhook-limit');
afterAll(async () => {
  if (!redis) return;
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

const post = (body = 'x') => new Request('http://localhost/hook', { method: 'POST', body });

function endpoint(options: Partial<WebhookEndpointOptions> = {}, tenantId = 'acme') {
  const handle = vi.fn(
    async (_request: Request, context: { limitTenant(id: string): Promise<void> }) => {
      await context.limitTenant(tenantId);
      return jsonResponse({ ok: true });
    },
  );
  const handler = createWebhookEndpoint(
    { provider: 'Test', methods: ['POST'], ...options },
    handle,
  );
  return { handler, handle };
}

describe('createWebhookEndpoint', () => {
  it('answers 405 with Allow for another method, without running the handler', async () => {
    const { handler, handle } = endpoint({ methods: ['GET', 'POST'] });
    const response = await handler(new Request('http://localhost/hook', { method: 'PUT' }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
    expect(await response.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'Test webhooks are GET or POST requests.' },
    });
    expect(handle).not.toHaveBeenCalled();
  });

  it('answers 403 for a client address outside allowIp, before the handler runs', async () => {
    const { handler, handle } = endpoint({ allowIp: ['100.20.5.228'] });
    const refused = await handler(post(), { clientAddress: '127.0.0.1' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'address_not_allowed' } });
    expect((await handler(post(), { clientAddress: '::ffff:100.20.5.228' })).status).toBe(200);
    expect(handle).toHaveBeenCalledTimes(1);
  });

  it('reports every error that ends a request to onError, and survives a throwing onError', async () => {
    const onError = vi.fn(() => {
      throw new Error('logger broke');
    });
    const handler = createWebhookEndpoint(
      { provider: 'Test', methods: ['POST'], onError },
      async () => {
        throw new MissingSignatureError({ message: 'No signature.' });
      },
    );
    const response = await handler(post());
    expect(response.status).toBe(401);
    expect(onError).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'missing_signature' }),
      expect.any(Request),
    );
    const crashing = createWebhookEndpoint({ provider: 'Test', methods: ['POST'] }, async () => {
      throw new TypeError('secret detail');
    });
    const internal = await crashing(post());
    expect(internal.status).toBe(500);
    expect(JSON.stringify(await internal.json())).not.toContain('secret detail');
  });

  describe('rate limits (rate-limiter-flexible, memory)', () => {
    it('answers 429 with Retry-After once a client address spent its budget, other addresses go on', async () => {
      const perClientAddress = new RateLimiterMemory({ points: 2, duration: 60 });
      const { handler, handle } = endpoint({ rateLimit: { perClientAddress } });
      const from = (clientAddress: string) => handler(post(), { clientAddress });
      expect((await from('192.0.2.1')).status).toBe(200);
      expect((await from('192.0.2.1')).status).toBe(200);
      const limited = await from('192.0.2.1');
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
      expect((await from('192.0.2.2')).status).toBe(200);
      expect(handle).toHaveBeenCalledTimes(3);
      // No client address (a Next.js route handler): not limited per address.
      for (let index = 0; index < 3; index += 1) expect((await handler(post())).status).toBe(200);
    });

    it('counts an IPv6 client by its /64, which one host holds whole: a new address per request spends one budget', async () => {
      const perClientAddress = new RateLimiterMemory({ points: 2, duration: 60 });
      const { handler } = endpoint({ rateLimit: { perClientAddress } });
      const from = (clientAddress: string) => handler(post(), { clientAddress });
      expect((await from('2001:db8:1:2::1')).status).toBe(200);
      expect((await from('2001:db8:1:2:ffff:ffff:ffff:fffe')).status).toBe(200);
      expect((await from('2001:0DB8:1:2:0:0:0:3')).status).toBe(429);
      expect(await perClientAddress.get('address:2001:db8:1:2::/64')).toMatchObject({
        consumedPoints: 3,
      });
      // Another /64 is another budget; IPv4 (also IPv4-mapped) is counted per address.
      expect((await from('2001:db8:1:3::1')).status).toBe(200);
      expect((await from('192.0.2.7')).status).toBe(200);
      expect((await from('::ffff:192.0.2.7')).status).toBe(200);
      expect((await from('::ffff:c000:207')).status).toBe(429);
      expect((await from('192.0.2.8')).status).toBe(200);
    });

    it('limits per tenant when the handler asks, keyed by tenant', async () => {
      const perTenant = new RateLimiterMemory({ points: 1, duration: 60 });
      const acme = endpoint({ rateLimit: { perTenant } }, 'acme');
      const globex = endpoint({ rateLimit: { perTenant } }, 'globex');
      expect((await acme.handler(post())).status).toBe(200);
      expect((await acme.handler(post())).status).toBe(429);
      expect((await globex.handler(post())).status).toBe(200);
      expect(await perTenant.get('tenant:acme')).toMatchObject({ consumedPoints: 2 });
    });

    it('lets requests through and reports when the limiter fails', async () => {
      const onError = vi.fn();
      const failing = { consume: async () => Promise.reject(new Error('store down')) };
      const { handler } = endpoint({
        rateLimit: { perClientAddress: failing, perTenant: failing },
        onError,
      });
      expect((await handler(post(), { clientAddress: '192.0.2.1' })).status).toBe(200);
      expect(onError).toHaveBeenCalledTimes(2);
      expect(onError).toHaveBeenCalledWith(expect.any(Error), expect.any(Request));
    });

    it('reports a limiter that rejects with something other than an Error as an Error', async () => {
      const onError = vi.fn();
      const failing = { consume: async () => Promise.reject('store down') };
      const { handler } = endpoint({ rateLimit: { perClientAddress: failing }, onError });
      expect((await handler(post(), { clientAddress: '192.0.2.1' })).status).toBe(200);
      expect(onError).toHaveBeenCalledTimes(1);
      const [error] = onError.mock.calls[0] as [Error, Request];
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toBe('store down');
      expect(error.cause).toBe('store down');
    });
  });

  describe.skipIf(!redis)('rate limits on the real Redis (RateLimiterRedis)', () => {
    it('shares one budget across handlers (processes) through Redis', async () => {
      const limiter = () =>
        new RateLimiterRedis({ storeClient: redis!, keyPrefix: prefix, points: 3, duration: 60 });
      // Two handlers with their own limiter objects, as two processes would have.
      const first = endpoint({ rateLimit: { perClientAddress: limiter() } });
      const second = endpoint({ rateLimit: { perClientAddress: limiter() } });
      const statuses: number[] = [];
      for (const { handler } of [first, second, first, second]) {
        statuses.push((await handler(post(), { clientAddress: '198.51.100.4' })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(Number(await redis!.exists(`${prefix}:address:198.51.100.4`))).toBe(1);
    });

    it('lets webhooks through at once while its Redis is down, as the security guide configures it', async () => {
      const own = await startOwnRedisServer();
      const { server, admin } = own;
      if (server === undefined || admin === undefined) return;
      try {
        // docs/guides/security.md#rate-limiting: a default ioredis client, an insurance limiter.
        const { handler } = endpoint({
          rateLimit: {
            perTenant: new RateLimiterRedis({
              storeClient: admin,
              keyPrefix: prefix,
              points: 600,
              duration: 60,
              rejectIfRedisNotReady: true,
              insuranceLimiter: new RateLimiterMemory({ points: 100, duration: 60 }),
            }),
          },
        });
        expect((await handler(post())).status).toBe(200);
        const down = new Promise((resolve) => admin.once('reconnecting', resolve));
        await server.kill();
        await down;
        // Queued behind the webhook's limiter command, if it was queued: ioredis fails both only
        // after its 20 reconnect attempts (10 s and more; Twilio hangs up after 15 s and does not
        // call again). Without `rejectIfRedisNotReady` the webhook waited for that.
        const sentinel = admin.ping().then(
          () => 'redis',
          () => 'redis',
        );
        const answer = handler(post()).then((response) => response.status);
        expect(await Promise.race([answer, sentinel])).toBe(200);
      } finally {
        await stopOwnRedisServer(own);
      }
    }, 60_000);
  });
});

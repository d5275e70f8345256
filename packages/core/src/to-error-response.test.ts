import { createServer } from 'node:http';
import { serveForTest, stopTestServers } from '@calltrack/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallControl } from './call-control';
import { BusUnavailableError } from './errors/bus-unavailable-error';
import { MethodNotAllowedError } from './errors/method-not-allowed-error';
import { ProviderApiError } from './errors/provider-api-error';
import { RateLimitedError } from './errors/rate-limited-error';
import { UnknownTenantError } from './errors/unknown-tenant-error';
import type { FetchHandler } from './fetch-handler';
import { toNodeHandler } from './node/to-node-handler';
import { toErrorResponse } from './to-error-response';

describe('toErrorResponse', () => {
  it('answers a CallTrackError with its status, code and message', async () => {
    const response = toErrorResponse(new UnknownTenantError({ message: 'No tenant for +1415…' }));
    expect(response.status).toBe(422);
    expect(await response.json()).toEqual({
      error: { code: 'unknown_tenant', message: 'No tenant for +1415…' },
    });
  });

  it('answers anything else with a 500 that reveals nothing', async () => {
    const response = toErrorResponse(new Error('password=hunter2'));
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).not.toContain('hunter2');
  });

  it('answers an ioredis connection failure with 503 redis_unavailable and Retry-After', async () => {
    // The shapes ioredis rejects commands with (the real ones: the tracker's and SSE's outage tests).
    const maxRetries = new Error('Reached the max retries per request limit (which is 20).');
    maxRetries.name = 'MaxRetriesPerRequestError';
    for (const failure of [
      new Error('Connection is closed.'),
      new Error('Command timed out'),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error('Too many Cluster redirections. Last error: Error: Connection is closed.'),
      maxRetries,
    ]) {
      const response = toErrorResponse(failure);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const body = await response.json();
      expect(body.error.code).toBe('redis_unavailable');
      expect(body.error.message).toMatch(/^Redis cannot be reached/);
    }
    const bus = toErrorResponse(new BusUnavailableError({ message: 'Reconnecting.' }));
    expect([bus.status, bus.headers.get('retry-after')]).toEqual([503, '5']);
    // A command Redis answered with an error is not an outage.
    expect(toErrorResponse(new Error('ERR unknown command')).status).toBe(500);
  });

  it('adds Allow to a 405 and Retry-After (whole seconds, at least 1) to a 429', async () => {
    const notAllowed = toErrorResponse(
      new MethodNotAllowedError({ message: 'POST only.', allow: ['GET', 'POST'] }),
    );
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers.get('allow')).toBe('GET, POST');
    expect(await notAllowed.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    const limited = toErrorResponse(
      new RateLimitedError({ message: 'Too many.', retryAfterSeconds: 0.2 }),
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
  });
});

describe('Retry-After on a real server', () => {
  afterEach(() => stopTestServers());

  // Whatever a custom adapter or limiter hands over, what goes out is whole seconds, at most a
  // day: never "Infinity", "NaN", "-5" or "1e+21".
  const waits = [Infinity, -Infinity, Number.NaN, -5, 1e21, 2.2, 86_400.5, 0];

  it('answers a RateLimitedError with a Retry-After from 1 to 86400', async () => {
    const handler: FetchHandler = async (request) => {
      const wait = Number(new URL(request.url).searchParams.get('wait'));
      return toErrorResponse(
        new RateLimitedError({ message: 'Too many.', retryAfterSeconds: wait }),
      );
    };
    const { url } = await serveForTest(createServer(toNodeHandler(handler)));
    const headers: (string | null)[] = [];
    for (const wait of waits) {
      const response = await fetch(`${url}/?wait=${encodeURIComponent(wait)}`);
      expect(response.status).toBe(429);
      headers.push(response.headers.get('retry-after'));
    }
    expect(headers).toEqual(['86400', '1', '1', '1', '86400', '3', '86400', '1']);
  });

  it('passes on a ProviderApiError’s wait from a custom adapter as whole seconds, at most a day', async () => {
    // A custom call-control adapter, and a route that passes its provider's wait on as the
    // tracker's call-control routes do.
    const adapter: Pick<CallControl, 'placeCall'> = {
      placeCall: async (request) => {
        throw new ProviderApiError({
          message: 'Too Many Requests',
          provider: 'custom',
          providerStatus: 429,
          retryAfterSeconds: Number(request.reference),
        });
      },
    };
    const handler: FetchHandler = async (request) => {
      const wait = new URL(request.url).searchParams.get('wait') ?? '';
      try {
        await adapter.placeCall({ tenantId: 't', to: '+14155550123', reference: wait });
        return new Response(null, { status: 202 });
      } catch (error) {
        if (!ProviderApiError.isInstance(error)) throw error;
        const { retryAfterSeconds } = error;
        return new Response(null, {
          status: 503,
          headers: retryAfterSeconds === undefined ? {} : { 'retry-after': `${retryAfterSeconds}` },
        });
      }
    };
    const { url } = await serveForTest(createServer(toNodeHandler(handler)));
    const headers: (string | null)[] = [];
    for (const wait of waits) {
      const response = await fetch(`${url}/?wait=${encodeURIComponent(wait)}`);
      expect(response.status).toBe(503);
      headers.push(response.headers.get('retry-after'));
    }
    // NaN is no wait given: no header, as when the provider sent none.
    expect(headers).toEqual(['86400', '0', null, '0', '86400', '3', '86400', '0']);
  });
});

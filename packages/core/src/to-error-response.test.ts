import { describe, expect, it } from 'vitest';
import { MethodNotAllowedError } from './errors/method-not-allowed-error';
import { RateLimitedError } from './errors/rate-limited-error';
import { UnknownTenantError } from './errors/unknown-tenant-error';
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

import { describe, expect, it } from 'vitest';
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
});

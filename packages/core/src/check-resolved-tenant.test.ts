import { describe, expect, it } from 'vitest';
import { checkResolvedTenant } from './check-resolved-tenant';
import { CallTrackError } from './errors/calltrack-error';

describe('checkResolvedTenant', () => {
  it('returns a valid tenant with only the tenant fields', () => {
    expect(checkResolvedTenant({ tenantId: 'acme', branchId: 'sf', extra: 1 })).toEqual({
      tenantId: 'acme',
      branchId: 'sf',
    });
  });

  it('turns an invalid tenant into a 500 invalid_tenant that keeps the reason as its cause', () => {
    const error = (() => {
      try {
        return checkResolvedTenant({ tenantId: 'has space' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(CallTrackError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_tenant', status: 500 });
    expect(((error as Error).cause as Error).message).toMatch(/tenantId/);
  });
});

import { describe, expect, it } from 'vitest';
import { principalSchema } from './principal';

describe('principalSchema', () => {
  it('accepts a tenant principal, an all-tenants principal and extra app fields', () => {
    expect(principalSchema.parse({ tenantId: 'acme', userId: 'u1', sessionId: 's' })).toEqual({
      tenantId: 'acme',
      userId: 'u1',
      sessionId: 's',
    });
    expect(
      principalSchema.parse({ tenantId: 'ops', allTenants: true, roles: ['admin'] }).allTenants,
    ).toBe(true);
  });

  it.each([
    [{}],
    [{ tenantId: '' }],
    [{ tenantId: 'a{b}' }],
    [{ tenantId: 'acme', userId: '' }],
    [{ tenantId: 'acme', allTenants: 'yes' }],
    [{ tenantId: 'acme', roles: [''] }],
  ])('refuses %j', (value) => {
    expect(principalSchema.safeParse(value).success).toBe(false);
  });
});

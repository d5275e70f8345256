import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors/invalid-argument-error';
import { checkWebhookTenant } from './webhook-tenant';

function messageOf(value: unknown): string {
  try {
    checkWebhookTenant(value);
  } catch (error) {
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error('checkWebhookTenant accepted the value');
}

describe('checkWebhookTenant', () => {
  it('returns a copy with only the tenant fields', () => {
    const given = { tenantId: 'acme', branchId: 'north', agentId: 'ag-1', userId: 'u-1', x: 1 };
    const checked = checkWebhookTenant(given);
    expect(checked).toEqual({
      tenantId: 'acme',
      branchId: 'north',
      agentId: 'ag-1',
      userId: 'u-1',
    });
    expect(checked).not.toBe(given);
    expect(checkWebhookTenant({ tenantId: 'acme', branchId: undefined })).toEqual({
      tenantId: 'acme',
    });
  });

  it('requires a tenant object', () => {
    for (const value of [undefined, null, 'acme', 42]) {
      expect(messageOf(value)).toBe('A tenant ({ tenantId }) is required.');
    }
  });

  it('rejects a bad tenantId', () => {
    for (const tenantId of [undefined, '', 'a b', 'a{b}', 'x'.repeat(129), 7]) {
      expect(messageOf({ tenantId })).toBe(
        'tenant.tenantId must be 1-128 characters without whitespace, control characters or braces.',
      );
    }
    expect(checkWebhookTenant({ tenantId: 'x'.repeat(128) }).tenantId).toHaveLength(128);
  });

  it('names the bad optional field', () => {
    for (const name of ['branchId', 'agentId', 'userId']) {
      for (const bad of ['', 'x'.repeat(257), 5, null]) {
        expect(messageOf({ tenantId: 'acme', [name]: bad })).toBe(
          `tenant.${name} must be a string of 1-256 characters.`,
        );
      }
      expect(checkWebhookTenant({ tenantId: 'acme', [name]: 'x'.repeat(256) })).toHaveProperty(
        name,
      );
    }
  });
});

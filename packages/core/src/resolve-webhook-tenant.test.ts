import { describe, expect, it } from 'vitest';
import { resolveWebhookTenant } from './resolve-webhook-tenant';

describe('resolveWebhookTenant', () => {
  it('returns the checked tenant, keeping only tenant fields', async () => {
    const tenant = await resolveWebhookTenant(
      async (context: { number: string }) => ({
        tenantId: context.number === '+1' ? 'acme' : 'other',
        branchId: 'hq',
        extra: 'dropped',
      }),
      { number: '+1' },
      'unknown',
    );
    expect(tenant).toEqual({ tenantId: 'acme', branchId: 'hq' });
  });

  it('answers 422 with the message for no tenant, 500 invalid_tenant for a bad one', async () => {
    await expect(resolveWebhookTenant(() => null, {}, 'No tenant for it.')).rejects.toMatchObject({
      status: 422,
      code: 'unknown_tenant',
      message: 'No tenant for it.',
    });
    await expect(
      resolveWebhookTenant(() => ({ tenantId: '{other}' }), {}, 'unknown'),
    ).rejects.toMatchObject({ status: 500, code: 'invalid_tenant' });
  });
});

import { toNodeHandler } from '@calltrack/core/node';
import { closeServers, createCollectingSink, listen } from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadTwilioFixture } from './__tests__/load-twilio-fixture';
import { computeTwilioSignature } from './compute-twilio-signature';
import { createTwilioWebhookHandler } from './create-twilio-webhook-handler';
import { twilioSignatureMatches } from './verify-twilio-signature';

// The real signature check, watched: which token each request was checked with.
vi.mock(import('./verify-twilio-signature'), { spy: true });
const verify = vi.mocked(twilioSignatureMatches);

const tokensByTenant: Record<string, string | null> = {
  acme: 'token-acme-0123456789abcdef',
  tokenless: null,
};

afterEach(() => {
  verify.mockClear();
  return closeServers();
});

describe('createTwilioWebhookHandler with an Auth Token lookup: refusals cost the same work', () => {
  it('checks the signature for an unknown tenant and a tenant without a token, as for a known one', async () => {
    const handler = createTwilioWebhookHandler({
      resolveTenant: ({ url }) => {
        const tenantId = url.searchParams.get('tenant');
        return tenantId !== null && tenantId in tokensByTenant ? { tenantId } : null;
      },
      authToken: ({ tenant }) => tokensByTenant[tenant.tenantId],
      sink: createCollectingSink(),
    });
    const hook = `${await listen(toNodeHandler(handler))}/webhooks/twilio`;
    const body = loadTwilioFixture('twilio-status-callback-ringing');
    const refusal = async (tenant: string) => {
      verify.mockClear();
      const url = `${hook}?tenant=${tenant}`;
      // Signed, but with a token no tenant has: every one of them is a wrong signature.
      const signature = computeTwilioSignature({
        authToken: 'token-of-someone-else',
        url,
        params: new URLSearchParams(body),
      });
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signature,
        },
        body,
      });
      return {
        status: response.status,
        code: ((await response.json()) as { error: { code: string } }).error.code,
        checks: verify.mock.calls.map(([token, signedUrl]) => ({
          url: signedUrl,
          realToken: Object.values(tokensByTenant).includes(token),
        })),
        url,
      };
    };

    const known = await refusal('acme');
    expect(known.status).toBe(403);
    expect(known.checks).toEqual([{ url: known.url, realToken: true }]);
    for (const tenant of ['unknown', 'tokenless']) {
      const other = await refusal(tenant);
      expect({ status: other.status, code: other.code }, tenant).toEqual({
        status: known.status,
        code: known.code,
      });
      // One check of the same URL's signature, with a token that is none of the tenants'.
      expect(other.checks, tenant).toEqual([{ url: other.url, realToken: false }]);
    }
  });
});

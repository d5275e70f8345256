import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  createCollectingSink,
  createFixtureLoader,
  listen,
} from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createCallerDeskWebhookHandler } from './create-callerdesk-webhook-handler';
import { verifyCallerDeskToken } from './verify-callerdesk-token';

// The real comparison, watched: which token each request's was compared with.
vi.mock(import('./verify-callerdesk-token'), { spy: true });
const verify = vi.mocked(verifyCallerDeskToken);

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));
const tokensByTenant: Record<string, string | null> = {
  acme: 'cd_live_acme_0123456789abcdef',
  tokenless: null,
};

afterEach(() => {
  verify.mockClear();
  return closeServers();
});

describe('createCallerDeskWebhookHandler with a token lookup: refusals cost the same work', () => {
  it('compares the token sent for an unknown tenant and a tenant without a token, as for a known one', async () => {
    const handler = createCallerDeskWebhookHandler({
      resolveTenant: ({ url }) => {
        const tenantId = url.searchParams.get('tenant');
        return tenantId !== null && tenantId in tokensByTenant ? { tenantId } : null;
      },
      token: ({ tenant }) => tokensByTenant[tenant.tenantId],
      sink: createCollectingSink(),
    });
    const hook = `${await listen(toNodeHandler(handler))}/webhooks/callerdesk`;
    const fields = new URLSearchParams(
      Object.entries(loadFixture('callerdesk-live-call-incoming-ringing.json').json).map(
        ([name, value]) => [name, String(value)],
      ),
    );
    // A long wrong token: comparing it takes time that grows with its length.
    const sent = 'x'.repeat(4096);
    const refusal = async (tenant: string) => {
      verify.mockClear();
      const response = await fetch(`${hook}?tenant=${tenant}&token=${sent}&${fields}`);
      return {
        status: response.status,
        code: ((await response.json()) as { error: { code: string } }).error.code,
        checks: verify.mock.calls.map(([options]) => ({
          provided: options.provided,
          realToken: Object.values(tokensByTenant).includes(options.expected as string),
        })),
      };
    };

    const known = await refusal('acme');
    expect(known.status).toBe(403);
    expect(known.checks).toEqual([{ provided: sent, realToken: true }]);
    for (const tenant of ['unknown', 'tokenless']) {
      const other = await refusal(tenant);
      expect({ status: other.status, code: other.code }, tenant).toEqual({
        status: known.status,
        code: known.code,
      });
      expect(other.checks, tenant).toEqual([{ provided: sent, realToken: false }]);
    }
  });
});

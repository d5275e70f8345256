import { toNodeHandler } from '@calltrack/core/node';
import {
  closeServers,
  createCollectingSink,
  createFixtureLoader,
  listen,
} from '@calltrack/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRetellWebhookHandler } from './create-retell-webhook-handler';
import { signRetellWebhook } from './sign-retell-webhook';
import { verifyRetellSignature } from './verify-retell-signature';

// The real verification, watched: which key each request's body was checked with.
vi.mock('./verify-retell-signature', async (importOriginal) => {
  const original = await importOriginal<typeof import('./verify-retell-signature')>();
  return { verifyRetellSignature: vi.fn(original.verifyRetellSignature) };
});
const verify = vi.mocked(verifyRetellSignature);

const loadFixture = createFixtureLoader(new URL('./__fixtures__/', import.meta.url));
const now = 1714608600000;
const keys: Record<string, string | null> = {
  acme: 'key_webhook_acme_0123456789',
  keyless: null,
};

afterEach(() => {
  verify.mockClear();
  return closeServers();
});

describe('createRetellWebhookHandler with an API key lookup: refusals cost the same work', () => {
  it('checks the signature over the body for an unknown number and a tenant without a key, as for a known one', async () => {
    const handler = createRetellWebhookHandler({
      // The fixture's call is on one number; the test names the tenant through the agent id.
      resolveTenant: ({ agentId }) => (agentId === undefined ? null : { tenantId: agentId }),
      apiKey: ({ tenant }) => keys[tenant.tenantId] ?? null,
      sink: createCollectingSink(),
      clock: { now: () => now },
    });
    const url = `${await listen(toNodeHandler(handler))}/webhooks/retell`;
    const fixture = loadFixture('retell-call-started.json').json as {
      call: Record<string, unknown>;
    };
    const refusal = async (agentId: string | undefined) => {
      verify.mockClear();
      const body = JSON.stringify({ ...fixture, call: { ...fixture.call, agent_id: agentId } });
      // Signed, but with a key no tenant has: every one of them is a wrong signature.
      const signature = signRetellWebhook({ apiKey: 'key_of_someone_else', body, timestamp: now });
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-retell-signature': signature },
        body,
      });
      return {
        status: response.status,
        code: ((await response.json()) as { error: { code: string } }).error.code,
        checks: verify.mock.calls.map(([options]) => ({
          body: options.body,
          keyGiven: typeof options.apiKey === 'string' && options.apiKey !== '',
          realKey: Object.values(keys).includes(options.apiKey),
        })),
        body,
      };
    };

    const known = await refusal('acme');
    expect(known.status).toBe(403);
    expect(known.checks).toEqual([{ body: known.body, keyGiven: true, realKey: true }]);
    for (const agentId of [undefined, 'keyless']) {
      const other = await refusal(agentId);
      expect({ status: other.status, code: other.code }, String(agentId)).toEqual({
        status: known.status,
        code: known.code,
      });
      // One check over the same body, with a key that is none of the tenants'.
      expect(other.checks, String(agentId)).toEqual([
        { body: other.body, keyGiven: true, realKey: false },
      ]);
    }
  });
});

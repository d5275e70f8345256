import type { StoredEndpoint } from '../webhook-endpoint';

/** An enabled endpoint of tenant `acme` as a store keeps it, for tests of the stores. */
export function storedEndpoint(id: string, at: number): StoredEndpoint {
  return {
    id,
    tenantId: 'acme',
    url: `https://hooks.example.com/${id}`,
    description: '',
    events: ['*'],
    headers: {},
    rateLimitPerSecond: null,
    maxConcurrency: 10,
    secrets: [{ secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }],
    createdAt: at,
    updatedAt: at,
    enabled: true,
    consecutiveFailures: 0,
  };
}

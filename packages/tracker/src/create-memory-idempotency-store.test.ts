import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryIdempotencyStore } from './create-memory-idempotency-store';
import { describeIdempotencyStore } from './testing';

describeIdempotencyStore(
  { describe, it, afterEach },
  {
    name: 'memory',
    createStore: async () => ({
      store: createMemoryIdempotencyStore(),
    }),
  },
);

describe('createMemoryIdempotencyStore', () => {
  it('forgets a key once its TTL passed, by the callers’ clock', async () => {
    const store = createMemoryIdempotencyStore();
    const claim = await store.claim('t', 'k', { fingerprint: 'f', now: 1000, ttlMs: 100 });
    const token = claim.state === 'claimed' ? claim.token : '';
    await store.complete('t', 'k', token, { status: 202, body: {} }, 100);
    expect((await store.claim('t', 'k', { fingerprint: 'f', now: 1099, ttlMs: 100 })).state).toBe(
      'completed',
    );
    expect((await store.claim('t', 'k', { fingerprint: 'f', now: 1100, ttlMs: 100 })).state).toBe(
      'claimed',
    );
  });
});

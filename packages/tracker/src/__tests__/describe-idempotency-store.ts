import { afterEach, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../idempotency-store';

/** Makes an empty store for one test; `cleanup` runs after it. */
export type IdempotencyStoreFactory = () => Promise<{
  store: IdempotencyStore;
  cleanup?: () => Promise<void>;
}>;

const t0 = Date.UTC(2026, 10, 21, 10, 0, 0);
const day = 86_400_000;
const answer = {
  status: 202,
  body: { call: { provider: 'twilio', callId: 'CA1', reference: 'r' } },
};

/** The contract every idempotency store honours; memory and Redis run these very tests. */
export function describeIdempotencyStore(backend: string, makeStore: IdempotencyStoreFactory) {
  describe(`IdempotencyStore conformance: ${backend}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const { store, cleanup } = await makeStore();
      if (cleanup) cleanups.push(cleanup);
      return store;
    };
    afterEach(async () => {
      await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
    });

    it('claims a free key once; later claims see it pending, then its answer', async () => {
      const store = await fresh();
      const first = await store.claim('tenant-a', 'req-1', {
        fingerprint: 'f1',
        now: t0,
        ttlMs: day,
      });
      expect(first.state).toBe('claimed');
      expect(
        await store.claim('tenant-a', 'req-1', { fingerprint: 'f1', now: t0 + 5, ttlMs: day }),
      ).toEqual({ state: 'pending', fingerprint: 'f1', startedAt: t0 });
      const token = first.state === 'claimed' ? first.token : '';
      expect(await store.complete('tenant-a', 'req-1', token, answer, day)).toBe(true);
      expect(
        await store.claim('tenant-a', 'req-1', { fingerprint: 'f2', now: t0 + 10, ttlMs: day }),
      ).toEqual({ state: 'completed', fingerprint: 'f1', answer });
    });

    it('keeps keys apart per tenant', async () => {
      const store = await fresh();
      const a = await store.claim('tenant-a', 'req-1', { fingerprint: 'f', now: t0, ttlMs: day });
      const b = await store.claim('tenant-b', 'req-1', { fingerprint: 'f', now: t0, ttlMs: day });
      expect([a.state, b.state]).toEqual(['claimed', 'claimed']);
    });

    it('exactly one of many concurrent claims wins', async () => {
      const store = await fresh();
      const claims = await Promise.all(
        Array.from({ length: 25 }, () =>
          store.claim('tenant-a', 'req-race', { fingerprint: 'f', now: t0, ttlMs: day }),
        ),
      );
      expect(claims.filter((claim) => claim.state === 'claimed')).toHaveLength(1);
      expect(claims.filter((claim) => claim.state === 'pending')).toHaveLength(24);
    });

    it('a release frees the key; a stale token can neither complete nor release', async () => {
      const store = await fresh();
      const first = await store.claim('tenant-a', 'req-2', {
        fingerprint: 'f',
        now: t0,
        ttlMs: day,
      });
      const token = first.state === 'claimed' ? first.token : '';
      expect(await store.complete('tenant-a', 'req-2', 'not-the-token', answer, day)).toBe(false);
      await store.release('tenant-a', 'req-2', 'not-the-token');
      expect(
        (await store.claim('tenant-a', 'req-2', { fingerprint: 'f', now: t0, ttlMs: day })).state,
      ).toBe('pending');
      await store.release('tenant-a', 'req-2', token);
      const second = await store.claim('tenant-a', 'req-2', {
        fingerprint: 'f',
        now: t0 + 1,
        ttlMs: day,
      });
      expect(second.state).toBe('claimed');
      // The first holder comes back late: its token no longer holds the key.
      expect(await store.complete('tenant-a', 'req-2', token, answer, day)).toBe(false);
      await store.release('tenant-a', 'req-2', token);
      expect(
        (await store.claim('tenant-a', 'req-2', { fingerprint: 'f', now: t0 + 2, ttlMs: day }))
          .state,
      ).toBe('pending');
    });

    it('keeps answers of any JSON shape as given', async () => {
      const store = await fresh();
      const claim = await store.claim('tenant-a', 'req-3', {
        fingerprint: 'f',
        now: t0,
        ttlMs: day,
      });
      const odd = {
        status: 422,
        body: { error: { code: 'provider_refused', message: 'Ünïcode "quoted" \\ {}', list: [] } },
      };
      await store.complete(
        'tenant-a',
        'req-3',
        claim.state === 'claimed' ? claim.token : '',
        odd,
        day,
      );
      expect(
        await store.claim('tenant-a', 'req-3', { fingerprint: 'g', now: t0, ttlMs: day }),
      ).toEqual({ state: 'completed', fingerprint: 'f', answer: odd });
    });
  });
}

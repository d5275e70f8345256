import assert from 'node:assert/strict';
import type { ConformanceTestApi } from '@calltrack/core';
import type { IdempotencyStore } from './idempotency-store';
import { assertEqual } from './suite-assertions';

/** Options of {@link describeIdempotencyStore}. */
export interface IdempotencyStoreSuiteOptions {
  /** Shown in the test names. */
  name: string;
  /**
   * A fresh, empty store for one test, and what to run after it. The tests use the tenants
   * `tenant-a` and `tenant-b`.
   */
  createStore: () => Promise<{ store: IdempotencyStore; cleanup?: () => Promise<void> }>;
}

const t0 = Date.UTC(2026, 10, 21, 10, 0, 0);
const day = 86_400_000;
const answer = {
  status: 202,
  body: { call: { provider: 'twilio', callId: 'CA1', reference: 'r' } },
};

/**
 * The contract every {@link IdempotencyStore} must honour: one winner among concurrent claims of
 * a key, pending then completed answers, keys apart per tenant, tokens that stop holding a key once
 * released, answers kept as given. The memory and Redis stores run these very tests; run them on
 * your own store with any test runner.
 *
 * @example
 * import { afterEach, describe, it } from 'vitest';
 * import { describeIdempotencyStore } from '@calltrack/tracker/testing';
 * describeIdempotencyStore({ describe, it, afterEach }, {
 *   name: 'my store',
 *   createStore: async () => ({ store: createMyStore() }),
 * });
 */
export function describeIdempotencyStore(
  test: ConformanceTestApi,
  options: IdempotencyStoreSuiteOptions,
): void {
  const { describe, it, afterEach } = test;

  describe(`IdempotencyStore conformance: ${options.name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    const fresh = async () => {
      const { store, cleanup } = await options.createStore();
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
      assert.equal(first.state, 'claimed');
      assertEqual(
        await store.claim('tenant-a', 'req-1', { fingerprint: 'f1', now: t0 + 5, ttlMs: day }),
        { state: 'pending', fingerprint: 'f1', startedAt: t0 },
      );
      const token = first.state === 'claimed' ? first.token : '';
      assert.equal(await store.complete('tenant-a', 'req-1', token, answer, day), true);
      assertEqual(
        await store.claim('tenant-a', 'req-1', { fingerprint: 'f2', now: t0 + 10, ttlMs: day }),
        { state: 'completed', fingerprint: 'f1', answer },
      );
    });

    it('keeps keys apart per tenant', async () => {
      const store = await fresh();
      const a = await store.claim('tenant-a', 'req-1', { fingerprint: 'f', now: t0, ttlMs: day });
      const b = await store.claim('tenant-b', 'req-1', { fingerprint: 'f', now: t0, ttlMs: day });
      assertEqual([a.state, b.state], ['claimed', 'claimed']);
    });

    it('exactly one of many concurrent claims wins', async () => {
      const store = await fresh();
      const claims = await Promise.all(
        Array.from({ length: 25 }, () =>
          store.claim('tenant-a', 'req-race', { fingerprint: 'f', now: t0, ttlMs: day }),
        ),
      );
      assert.equal(claims.filter((claim) => claim.state === 'claimed').length, 1);
      assert.equal(claims.filter((claim) => claim.state === 'pending').length, 24);
    });

    it('a release frees the key; a stale token can neither complete nor release', async () => {
      const store = await fresh();
      const first = await store.claim('tenant-a', 'req-2', {
        fingerprint: 'f',
        now: t0,
        ttlMs: day,
      });
      const token = first.state === 'claimed' ? first.token : '';
      assert.equal(await store.complete('tenant-a', 'req-2', 'not-the-token', answer, day), false);
      await store.release('tenant-a', 'req-2', 'not-the-token');
      assert.equal(
        (await store.claim('tenant-a', 'req-2', { fingerprint: 'f', now: t0, ttlMs: day })).state,
        'pending',
      );
      await store.release('tenant-a', 'req-2', token);
      const second = await store.claim('tenant-a', 'req-2', {
        fingerprint: 'f',
        now: t0 + 1,
        ttlMs: day,
      });
      assert.equal(second.state, 'claimed');
      // The first holder comes back late: its token no longer holds the key.
      assert.equal(await store.complete('tenant-a', 'req-2', token, answer, day), false);
      await store.release('tenant-a', 'req-2', token);
      assert.equal(
        (await store.claim('tenant-a', 'req-2', { fingerprint: 'f', now: t0 + 2, ttlMs: day }))
          .state,
        'pending',
      );
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
      assertEqual(
        await store.claim('tenant-a', 'req-3', { fingerprint: 'g', now: t0, ttlMs: day }),
        { state: 'completed', fingerprint: 'f', answer: odd },
      );
    });
  });
}

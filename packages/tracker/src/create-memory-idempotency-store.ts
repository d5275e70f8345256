import { randomUUID } from 'node:crypto';
import type { IdempotencyClaim, IdempotencyStore, IdempotentAnswer } from './idempotency-store';

type Entry =
  | { state: 'pending'; fingerprint: string; startedAt: number; token: string; expiresAt: number }
  | { state: 'completed'; fingerprint: string; answer: IdempotentAnswer; expiresAt: number };

/**
 * An {@link IdempotencyStore} in this process's memory: right for one process. Several
 * processes (or serverless instances) behind one address need the Redis store, or a repeated
 * request that reaches another process places a second call. Expired entries are dropped as new
 * claims come in, by the clock the callers pass.
 */
export function createMemoryIdempotencyStore(): IdempotencyStore {
  const entries = new Map<string, Entry>();
  const keyOf = (tenantId: string, key: string) => `${tenantId}\u0000${key}`;
  /** Drops expired entries from the oldest on; stops at the first live one. */
  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.expiresAt > now) break;
      entries.delete(key);
    }
  };
  /** The latest `now` seen: `complete` and `release` have no clock of their own. */
  let lastNow = 0;

  return {
    async claim(tenantId, key, { fingerprint, now, ttlMs }): Promise<IdempotencyClaim> {
      lastNow = Math.max(lastNow, now);
      sweep(now);
      const id = keyOf(tenantId, key);
      const entry = entries.get(id);
      if (entry !== undefined && entry.expiresAt > now) {
        return entry.state === 'pending'
          ? { state: 'pending', fingerprint: entry.fingerprint, startedAt: entry.startedAt }
          : { state: 'completed', fingerprint: entry.fingerprint, answer: entry.answer };
      }
      const token = randomUUID();
      entries.delete(id);
      entries.set(id, {
        state: 'pending',
        fingerprint,
        startedAt: now,
        token,
        expiresAt: now + ttlMs,
      });
      return { state: 'claimed', token };
    },
    async complete(tenantId, key, token, answer, ttlMs) {
      const id = keyOf(tenantId, key);
      const entry = entries.get(id);
      if (entry?.state !== 'pending' || entry.token !== token) return false;
      entries.delete(id);
      entries.set(id, {
        state: 'completed',
        fingerprint: entry.fingerprint,
        answer,
        expiresAt: Math.max(lastNow, entry.startedAt) + ttlMs,
      });
      return true;
    },
    async release(tenantId, key, token) {
      const id = keyOf(tenantId, key);
      const entry = entries.get(id);
      if (entry?.state === 'pending' && entry.token === token) entries.delete(id);
    },
  };
}

/** The answer a request gave, kept so that its repeats get the same one. */
export interface IdempotentAnswer {
  /** The HTTP status. */
  status: number;
  /** The JSON body. */
  body: unknown;
}

/** What {@link IdempotencyStore.claim} found for a key. */
export type IdempotencyClaim =
  /** The key was free: the caller holds it now and must `complete` or `release` it. */
  | { state: 'claimed'; token: string }
  /** Another request holds the key and has not finished (since `startedAt`, ms since the epoch). */
  | { state: 'pending'; fingerprint: string; startedAt: number }
  /** A request with this key finished; repeats get its answer. */
  | { state: 'completed'; fingerprint: string; answer: IdempotentAnswer };

/**
 * Where the call-control routes keep request ids (`requestId` of `POST /calls`) and the answers
 * they gave, so a repeated request is a no-op, also on another process. `claim` is the one atomic
 * step: among concurrent claims of a key exactly one gets `claimed`. Keys are per tenant.
 * Backends: `createMemoryIdempotencyStore()` (one process), `createRedisIdempotencyStore()` from
 * `@calltrack/tracker/redis` (many).
 */
export interface IdempotencyStore {
  /**
   * Claims `key` of `tenantId` for a request whose content hashes to `fingerprint`, or reports
   * who holds it. A claim lives `ttlMs`; `now` is the caller's clock (ms since the epoch), kept as
   * the claim's `startedAt`.
   */
  claim(
    tenantId: string,
    key: string,
    options: { fingerprint: string; now: number; ttlMs: number },
  ): Promise<IdempotencyClaim>;
  /**
   * Records the answer of the claim that holds `token`, kept `ttlMs`. False when the claim is no
   * longer there (it expired, or was released): nothing is written then.
   */
  complete(
    tenantId: string,
    key: string,
    token: string,
    answer: IdempotentAnswer,
    ttlMs: number,
  ): Promise<boolean>;
  /** Frees the key again, if the claim that holds `token` still holds it (nothing was done). */
  release(tenantId: string, key: string, token: string): Promise<void>;
}

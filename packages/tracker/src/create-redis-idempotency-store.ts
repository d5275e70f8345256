import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '@calltrack/core';
import { catchRedisStoreErrors, checkNoKeyPrefix } from '@calltrack/core/internal';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import type { IdempotencyClaim, IdempotencyStore, IdempotentAnswer } from './idempotency-store';

/** Options of {@link createRedisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /** Your ioredis client (`Redis` or `Cluster`); the store only sends commands on it. */
  redis: Redis | Cluster;
  /**
   * Prefix of every key. Default `calltrack:tracker`. A key is
   * `<prefix>:{<tenantId>}:idempotency:<key>`: one per request id, with the tenant's hash tag.
   */
  prefix?: string;
}

/** How a key's record is stored: one JSON string. */
type StoredRecord =
  | { s: 'p'; f: string; a: number; t: string }
  | { s: 'c'; f: string; r: IdempotentAnswer };

/** Claims the key unless something holds it; returns what holds it (nil: claimed). */
const claimScript = defineRedisScript(`
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
`);

/**
 * Settles the pending record of token ARGV[1]: with an answer (ARGV[2], JSON) it becomes a
 * completed record with the same fingerprint, kept ARGV[3] ms; without one it is deleted.
 */
const settleScript = defineRedisScript(`
local existing = redis.call('GET', KEYS[1])
if not existing then return 0 end
local record = cjson.decode(existing)
if record.s ~= 'p' or record.t ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
else
  local completed = '{"s":"c","f":' .. cjson.encode(record.f) .. ',"r":' .. ARGV[2] .. '}'
  redis.call('SET', KEYS[1], completed, 'PX', ARGV[3])
end
return 1
`);

/**
 * An {@link IdempotencyStore} on Redis, shared by every process: a claim is one script (`GET`,
 * then `SET … PX` when free), so among concurrent requests with one request id exactly one
 * claims it, whichever process they reach. Completing or releasing a claim is a compare-and-set
 * on its token. Records expire with their TTL (Redis's clock).
 *
 * Redis refusing the commands (out of memory under `noeviction`, a replica after a failover…)
 * rejects with `RedisUnavailableError` (`POST /calls` answers 503 with `Retry-After`: nothing was
 * claimed or placed); every error leaves the store without the values written (`redactErrorValues`).
 */
export function createRedisIdempotencyStore(
  options: RedisIdempotencyStoreOptions,
): IdempotencyStore {
  if (options == null || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisIdempotencyStore needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisIdempotencyStore', redis);
  const prefix = options.prefix ?? 'calltrack:tracker';
  const keyOf = (tenantId: string, key: string) => `${prefix}:{${tenantId}}:idempotency:${key}`;
  const ttl = (ttlMs: number) => String(Math.max(1, Math.ceil(ttlMs)));

  const store: IdempotencyStore = {
    async claim(tenantId, key, { fingerprint, now, ttlMs }): Promise<IdempotencyClaim> {
      const token = randomUUID();
      const pending: StoredRecord = { s: 'p', f: fingerprint, a: now, t: token };
      const existing = await runRedisScript(
        redis,
        claimScript,
        [keyOf(tenantId, key)],
        [JSON.stringify(pending), ttl(ttlMs)],
      );
      if (existing === null) return { state: 'claimed', token };
      const record = JSON.parse(String(existing)) as StoredRecord;
      return record.s === 'p'
        ? { state: 'pending', fingerprint: record.f, startedAt: record.a }
        : { state: 'completed', fingerprint: record.f, answer: record.r };
    },
    async complete(tenantId, key, token, answer, ttlMs) {
      const done = await runRedisScript(
        redis,
        settleScript,
        [keyOf(tenantId, key)],
        [token, JSON.stringify(answer), ttl(ttlMs)],
      );
      return Number(done) === 1;
    },
    async release(tenantId, key, token) {
      await runRedisScript(redis, settleScript, [keyOf(tenantId, key)], [token, '', '1']);
    },
  };
  return catchRedisStoreErrors(redis, store, {
    claim: { operation: 'claiming a request id', writes: true },
    complete: { operation: 'recording a placed call’s answer', writes: true },
    release: { operation: 'freeing a request id', writes: true },
  });
}

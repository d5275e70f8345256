import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@calltrack/core';
import { catchRedisStoreErrors, checkNoKeyPrefix } from '@calltrack/core/internal';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import type { DialerLocks } from './dialer-locks';

/** Options of {@link createRedisDialerLocks}. */
export interface RedisDialerLocksOptions {
  /** Your ioredis client; only commands are sent on it. */
  redis: Redis | Cluster;
  /** Prefix of every key. Default `calltrack:dialer:lock`. */
  prefix?: string;
}

// Compare-and-delete and compare-and-expire: a holder whose lease expired and was taken by
// another never deletes or extends the new holder's lease.
const releaseScript = defineRedisScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
);
const renewScript = defineRedisScript(
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0",
);

/**
 * Leases on one Redis (the single-instance pattern from redis.io): `SET key token NX PX ttl`,
 * released with a compare-and-delete script and renewed with a compare-and-`PEXPIRE` script, the
 * token 20 random bytes. No Redlock: these are efficiency locks (a failover may grant one twice),
 * and the dialer's correctness rests on the lead store's claim. Never uses `KEYS`.
 */
export function createRedisDialerLocks(options: RedisDialerLocksOptions): DialerLocks {
  if (options == null || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisDialerLocks needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisDialerLocks', redis);
  const prefix = options.prefix ?? 'calltrack:dialer:lock';
  const lockKey = (key: string): string => `${prefix}:${key}`;
  const followUpKey = (key: string): string => `${prefix}:${key}:follow-up`;

  const locks: DialerLocks = {
    async acquire(key, ttlMs) {
      const token = randomBytes(20).toString('hex');
      const fullKey = lockKey(key);
      const reply = await redis.set(fullKey, token, 'PX', Math.ceil(ttlMs), 'NX');
      if (reply !== 'OK') return undefined;
      return {
        key,
        token,
        async renew(renewMs) {
          const renewed = await runRedisScript(
            redis,
            renewScript,
            [fullKey],
            [token, Math.ceil(renewMs)],
          );
          return Number(renewed) === 1;
        },
        async release() {
          return Number(await runRedisScript(redis, releaseScript, [fullKey], [token])) === 1;
        },
      };
    },
    async requestFollowUp(key, ttlMs) {
      await redis.set(followUpKey(key), '1', 'PX', Math.ceil(ttlMs));
    },
    async renewFollowUp(key, ttlMs) {
      // PEXPIRE leaves a key that is not there alone: a taken request stays taken.
      await redis.pexpire(followUpKey(key), Math.ceil(ttlMs));
    },
    async takeFollowUp(key) {
      return (await redis.del(followUpKey(key))) === 1;
    },
  };
  // A refusal (out of memory, a replica…) is `RedisUnavailableError`: a trigger refused so is a
  // 503 with Retry-After. (A lease's renewals and release only log; they carry no values.)
  return catchRedisStoreErrors(redis, locks, {
    acquire: { operation: 'taking a lease', writes: true },
    requestFollowUp: { operation: 'asking for a follow-up run', writes: true },
    renewFollowUp: { operation: 'renewing a follow-up request', writes: true },
    takeFollowUp: { operation: 'taking a follow-up request', writes: true },
  });
}

import { InvalidArgumentError, tenantIdSchema } from '@calltrack/core';
import { catchRedisStoreErrors, checkNoKeyPrefix } from '@calltrack/core/internal';
import type { Cluster, Redis } from 'ioredis';
import { checkDoNotCallNumbers } from './check-do-not-call-numbers';
import type { DoNotCallList } from './do-not-call-list';

/** Options of {@link createRedisDoNotCallList}. */
export interface RedisDoNotCallListOptions {
  /** Your ioredis client; only commands are sent on it. */
  redis: Redis | Cluster;
  /** Prefix of the keys (a set per tenant: `<prefix>:{<tenant>}:dnc`). Default `calltrack:dialer`. */
  prefix?: string;
}

/** A do-not-call list on Redis, shared by every process: one set per tenant. */
export function createRedisDoNotCallList(options: RedisDoNotCallListOptions): DoNotCallList {
  if (options == null || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisDoNotCallList needs { redis }: your ioredis client.',
    });
  }
  const { redis } = options;
  checkNoKeyPrefix('createRedisDoNotCallList', redis);
  const prefix = options.prefix ?? 'calltrack:dialer';
  const keyOf = (tenantId: string): string => {
    if (!tenantIdSchema.safeParse(tenantId).success) {
      throw new InvalidArgumentError({ message: `Invalid tenantId ${JSON.stringify(tenantId)}.` });
    }
    return `${prefix}:{${tenantId}}:dnc`;
  };
  const list: DoNotCallList = {
    async has(tenantId, phoneNumber) {
      return (await redis.sismember(keyOf(tenantId), phoneNumber)) === 1;
    },
    async add(tenantId, phoneNumbers) {
      checkDoNotCallNumbers(phoneNumbers);
      if (phoneNumbers.length > 0) await redis.sadd(keyOf(tenantId), ...phoneNumbers);
    },
    async remove(tenantId, phoneNumbers) {
      if (phoneNumbers.length > 0) await redis.srem(keyOf(tenantId), ...phoneNumbers);
    },
  };
  // A refusal (out of memory, a replica…) is `RedisUnavailableError`; no error carries the
  // phone numbers it was adding or removing.
  return catchRedisStoreErrors(redis, list, {
    has: { operation: 'reading the do-not-call list', writes: false },
    add: { operation: 'adding to the do-not-call list', writes: true },
    remove: { operation: 'removing from the do-not-call list', writes: true },
  });
}

import type { Redis } from 'ioredis';

/**
 * The ids of the calls that ended last, per tenant, newest first: the "recent calls" list of the
 * campaign page. Only ids are kept; the campaign router reads each call from the tracker, so a
 * recording that arrives after the end shows up too.
 */
export interface RecentCalls {
  /** Puts the call at the top of the tenant's list (once, however often it is added). */
  add(tenantId: string, callId: string): Promise<void>;
  /** The tenant's recently ended call ids, newest first. */
  list(tenantId: string, limit: number): Promise<string[]>;
}

/** How many ended calls are remembered per tenant. */
export const recentCallsCapacity = 50;

/** Recent calls in this process's memory. */
export function createMemoryRecentCalls(): RecentCalls {
  const byTenant = new Map<string, string[]>();
  return {
    async add(tenantId, callId) {
      const ids = (byTenant.get(tenantId) ?? []).filter((id) => id !== callId);
      ids.unshift(callId);
      byTenant.set(tenantId, ids.slice(0, recentCallsCapacity));
    },
    async list(tenantId, limit) {
      return (byTenant.get(tenantId) ?? []).slice(0, limit);
    },
  };
}

/**
 * Recent calls in a Redis list per tenant (`<prefix>:{<tenant>}`), shared by every process.
 * The `{tenant}` hash tag keeps the key on the tenant's Redis Cluster slot.
 */
export function createRedisRecentCalls(redis: Redis, prefix: string): RecentCalls {
  const key = (tenantId: string): string => `${prefix}:{${tenantId}}`;
  return {
    async add(tenantId, callId) {
      await redis
        .multi()
        .lrem(key(tenantId), 0, callId)
        .lpush(key(tenantId), callId)
        .ltrim(key(tenantId), 0, recentCallsCapacity - 1)
        .exec();
    },
    async list(tenantId, limit) {
      return redis.lrange(key(tenantId), 0, limit - 1);
    },
  };
}

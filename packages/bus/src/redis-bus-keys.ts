import { InvalidArgumentError } from '@calltrack/core';

/** The Redis keys and channel of one tenant's stream. */
export interface RedisBusKeys {
  /** Hash: `epoch`, `seq`, `gen`, `exp`, `reg`, `bytes`, `tb`, `ts`, `tt`. Outlives the history so cursors stay meaningful. */
  meta: string;
  /** Stream of the history; entry ids are `<seq>-<publish time in ms>`. */
  stream: string;
  /** The de-duplication hashes (event id → seq): id generation n lives in `ids[n % 2]`. */
  ids: readonly [string, string];
  /**
   * Every key the publish and position scripts touch, in the order `calltrack_open` reads them:
   * meta, stream, the id generations. Declared as the scripts' KEYS, so that on a Cluster slot
   * being moved Redis runs a script only on the node that has all of them (TRYAGAIN meanwhile, and
   * for the whole move while one of them exists on neither node).
   */
  script: readonly string[];
  /** Pub/sub channel for live delivery (classic or sharded). */
  channel: string;
}

/**
 * Every key of a tenant carries the `{tenant}` hash tag, so one Lua script may touch all of them
 * on Redis Cluster too, and the tenant's sharded channel lives in the same slot. Tenant ids
 * cannot contain braces (core's tenantIdSchema), nor can the prefix (checkRedisBusPrefix).
 */
export function redisBusKeys(prefix: string, tenantId: string): RedisBusKeys {
  const base = `${prefix}:{${tenantId}}`;
  const meta = `${base}:meta`;
  const stream = `${base}:stream`;
  const ids = [`${base}:ids:0`, `${base}:ids:1`] as const;
  return { meta, stream, ids, script: [meta, stream, ...ids], channel: `${base}:events` };
}

/** The PSUBSCRIBE pattern matching every tenant's channel under a prefix (classic pub/sub). */
export function redisBusChannelPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:{*}:events`;
}

/**
 * The registry of tenants for all-tenants subscriptions under sharded pub/sub, which has no
 * patterns: a set of tenant ids (key) and a sharded channel announcing new tenants (same name,
 * another namespace).
 */
export function redisBusTenantRegistry(prefix: string): { key: string; channel: string } {
  return { key: `${prefix}:tenants`, channel: `${prefix}:tenants` };
}

/**
 * Refuses a prefix that would break the layout: braces would replace the `{tenant}` hash tag
 * (Redis hashes the first `{…}` of a key), so every tenant would land in one slot.
 */
export function checkRedisBusPrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || prefix === '' || /[{}\s]/.test(prefix)) {
    throw new InvalidArgumentError({
      message: 'createRedisBus: prefix must be a non-empty string without braces or whitespace.',
    });
  }
  return prefix;
}

/** The Redis keys and channel of one tenant's stream. */
export interface RedisBusKeys {
  /** Hash: `epoch`, `seq`. Outlives the history so cursors stay meaningful. */
  meta: string;
  /** Stream of the history; entry ids are `0-<seq>`. */
  stream: string;
  /** Hash: event id → seq, for the events in history (de-duplication). */
  ids: string;
  /** Pub/sub channel for live delivery. */
  channel: string;
}

/**
 * Every key of a tenant carries the `{tenant}` hash tag, so one Lua script may touch all of them
 * on Redis Cluster too. Tenant ids cannot contain braces (core's tenantIdSchema).
 */
export function redisBusKeys(prefix: string, tenantId: string): RedisBusKeys {
  const base = `${prefix}:{${tenantId}}`;
  return {
    meta: `${base}:meta`,
    stream: `${base}:stream`,
    ids: `${base}:ids`,
    channel: `${base}:events`,
  };
}

/** The PSUBSCRIBE pattern matching every tenant's channel under a prefix. */
export function redisBusChannelPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:{*}:events`;
}

import type { Cluster, Redis } from 'ioredis';

/**
 * Where a Redis bus lends the tracker what it needs to publish inside the tracker's own apply
 * script (one round trip per ingested event, decision 0030). A `Symbol.for` key, so the bus and
 * the tracker find it whatever copy of this (bundled) module each carries; not public API: it is
 * not in any package's types, and its shape may change with any release of both packages (the
 * version in the key changes with it, and a tracker that finds no capability of its version
 * publishes through `bus.publish` as before).
 */
export const redisBusIngestKey: unique symbol = Symbol.for('calltrack.redis-bus.ingest.v2');

/** What a Redis bus lends under {@link redisBusIngestKey}. */
export interface RedisBusIngest {
  /** The client the bus publishes with. */
  readonly redis: Redis | Cluster;
  /**
   * The tenant's keys the bus's publish functions touch (hash tag `{tenant}`), for the calling
   * script to declare in its KEYS (on a Cluster slot being moved, Redis then runs it only where
   * all of them are), in the order `calltrack_open(keys, first)` reads them from `keys[first]` on.
   */
  keys(tenantId: string): readonly string[];
  /**
   * The bus's Lua publish functions (`calltrack_open`, `calltrack_publish`, `calltrack_close`),
   * with this bus's settings written into them; resolves once the pub/sub kind is known.
   */
  publishFunctions(): Promise<string>;
  /**
   * Makes a tenant known to all-tenants subscribers when `calltrack_publish` said so (sharded
   * pub/sub); failures are reported to the bus's `onError` and retried on the next publish.
   */
  registerTenant(tenantId: string): Promise<void>;
}

/** The capability of a Redis bus, or undefined for any other sink. */
export function redisBusIngestOf(bus: unknown): RedisBusIngest | undefined {
  if (bus === null || typeof bus !== 'object') return undefined;
  const ingest = (bus as { [redisBusIngestKey]?: RedisBusIngest })[redisBusIngestKey];
  return typeof ingest?.publishFunctions === 'function' ? ingest : undefined;
}

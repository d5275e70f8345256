import type { Cluster, Redis } from 'ioredis';
import type { CallApplyResult } from './call-store';
import type { CallTransition } from './call-transition';

/**
 * Where the Redis store lends the tracker its one-round-trip ingest (decision 0030): a
 * `Symbol.for` key, because the package's entries may each carry their own copy of this module.
 * Not public API (not in the `CallStore` type); the version in the key changes with its shape.
 */
export const redisCallStoreIngestKey: unique symbol = Symbol.for(
  'calltrack.redis-call-store.ingest.v2',
);

/** What the bus's publish inside the apply script needs, for one event. */
export interface RedisIngestPublish {
  /** The bus's Lua publish functions (`RedisBusIngest.publishFunctions`). */
  functions: string;
  /**
   * The tenant's bus keys (`RedisBusIngest.keys`): the ingest step declares them after the call's
   * key, so that on a Cluster slot being moved Redis runs it only where all of them are.
   */
  busKeys: readonly string[];
  /** The event's JSON up to where `data.call` goes (`redisEventJsonHead`). */
  eventHead: string;
}

/** What the bus's publish did, when the transition was published. */
export interface RedisIngestPublished {
  cursor: { epoch: string; seq: number };
  /** The bus had the event id in its window already. */
  duplicate: boolean;
  /** The bus asks for the tenant to be registered for all-tenants subscribers. */
  register: boolean;
}

/** What the Redis store lends under {@link redisCallStoreIngestKey}. */
export interface RedisCallStoreIngest {
  /** The client the store runs its scripts on. */
  readonly redis: Redis | Cluster;
  /** A key of the store's own for a one-off check (another key each time). */
  probeKey(): string;
  /**
   * Applies the transition and, when it is to be published (`changed`, `ended`, `enriched`,
   * `unpublished`), publishes the event with the call's snapshot to the bus, in one script.
   * Rejects with `BusUnavailableError` when the bus's part failed: the transition is applied and
   * the event left unpublished (a retry publishes it).
   */
  applyAndPublish(
    transition: CallTransition,
    publish: RedisIngestPublish,
  ): Promise<CallApplyResult & { published?: RedisIngestPublished }>;
}

/** The ingest capability of a Redis store, or undefined for any other store. */
export function redisCallStoreIngestOf(store: unknown): RedisCallStoreIngest | undefined {
  if (store === null || typeof store !== 'object') return undefined;
  const ingest = (store as { [redisCallStoreIngestKey]?: RedisCallStoreIngest })[
    redisCallStoreIngestKey
  ];
  return typeof ingest?.applyAndPublish === 'function' ? ingest : undefined;
}

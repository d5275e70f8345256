import { InvalidArgumentError } from '@calltrack/core';
import { checkNoKeyPrefix, toError } from '@calltrack/core/internal';
import {
  defineRedisScript,
  type RedisBusIngest,
  type RedisScript,
  redisBusIngestKey,
  runRedisScript,
} from '@calltrack/redis-script';
import type { Cluster, Redis } from 'ioredis';
import { busCursorVerifier, formatBusCursor } from './bus-cursor';
import { checkBusTenantId, checkSubscribeOptions } from './check-subscribe-options';
import { createRedisChannelHub } from './create-redis-channel-hub';
import { createRedisPublisher, redisPublishSettings } from './create-redis-publisher';
import type { RedisPubSubMode } from './create-redis-pubsub';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import { detectRedisPubSubMode } from './detect-redis-pubsub-mode';
import type { BusOptions, BusSubscribeOptions, BusSubscription, EventBus } from './event-bus';
import { createHistoryReadFailures } from './history-read-failures';
import { isRedisCluster } from './redis-bus-client';
import { checkRedisBusPrefix, redisBusKeys } from './redis-bus-keys';
import { redisPositionScript, redisPublishFunctions } from './redis-bus-scripts';
import { registerRedisBusTenant } from './register-redis-bus-tenant';
import { resolveBusOptions } from './resolve-bus-options';
import { subscribeRedisAllTenants } from './subscribe-redis-all-tenants';
import { subscribeRedisTenant } from './subscribe-redis-tenant';

/** Options of {@link createRedisBus}. */
export interface RedisBusOptions extends BusOptions {
  /**
   * Your ioredis client: a `Redis`, or a `Cluster`. The bus runs its commands on it and
   * `duplicate()`s it for subscribing (on a Cluster: one connection per master node that holds
   * subscribed channels); it closes only what it opened.
   */
  redis: Redis | Cluster;
  /** Prefix of every key and channel (no braces). Default `calltrack:bus`. */
  prefix?: string;
  /**
   * Live delivery: `classic` PUBLISH/SUBSCRIBE, or `sharded` SPUBLISH/SSUBSCRIBE (Redis ≥ 7), which
   * on a Cluster keeps each message on the nodes of its tenant's slot instead of copying it to
   * every node. `auto` (default) picks sharded on a Cluster whose masters all run Redis ≥ 7, and
   * classic on a single Redis. Every process on the same Redis must end up with the same kind.
   */
  pubsub?: 'auto' | 'classic' | 'sharded';
  /**
   * How long `publish` waits for Redis before rejecting with `BusUnavailableError`. The event may
   * still have been published; publishing it again is safe. Default 5,000 ms.
   */
  publishTimeoutMs?: number;
  /**
   * How long a tenant's epoch and sequence outlive its last publish (at least the history age).
   * Default 7 days.
   */
  metaTtlMs?: number;
  /** Events fetched per history read while resuming. Default 500. */
  replayBatchSize?: number;
  /** Cluster only: how often the subscriber checks the slot map for moved channels. Default 5,000 ms. */
  clusterTopologyCheckMs?: number;
}

/**
 * An event bus shared by many processes through Redis (a single Redis, or a Cluster). Per
 * tenant: a sequence number and epoch, a bounded stream of history and a de-duplication index,
 * all changed atomically with the live publish by one Lua script. Subscribers attach to pub/sub
 * first, then read history, and use the sequence numbers to close any gap (a missed message, a
 * reconnect, a moved slot) from history.
 */
export function createRedisBus(options: RedisBusOptions): EventBus {
  if (options == null || typeof options !== 'object' || options.redis == null) {
    throw new InvalidArgumentError({
      message: 'createRedisBus needs { redis }: your ioredis client.',
    });
  }
  const { maxEvents, maxAgeMs, maxBytes, maxBufferedMessages, report } = resolveBusOptions(options);
  const { redis } = options;
  checkNoKeyPrefix('createRedisBus', redis);
  const prefix = checkRedisBusPrefix(options.prefix ?? 'calltrack:bus');
  const metaTtlMs = positive('metaTtlMs', options.metaTtlMs ?? 7 * 24 * 60 * 60 * 1000);
  const batchSize = positive('replayBatchSize', options.replayBatchSize ?? 500);
  const publishTimeoutMs = positive('publishTimeoutMs', options.publishTimeoutMs ?? 5000);
  const pubsub = options.pubsub ?? 'auto';
  if (!['auto', 'classic', 'sharded'].includes(pubsub)) {
    throw new InvalidArgumentError({
      message: 'createRedisBus: pubsub must be auto, classic or sharded.',
    });
  }

  // The pub/sub kind is asked once (a failed detection is asked again next time).
  let detected: Promise<RedisPubSubMode> | undefined;
  const mode = (): Promise<RedisPubSubMode> => {
    if (pubsub !== 'auto') return Promise.resolve(pubsub);
    detected ??= detectRedisPubSubMode(redis);
    detected.catch(() => {
      detected = undefined;
    });
    return detected;
  };

  const publish = createRedisPublisher({
    redis,
    prefix,
    maxEvents,
    maxAgeMs,
    maxBytes,
    metaTtlMs,
    publishTimeoutMs,
    mode,
    report,
  });
  const hub = createRedisChannelHub({
    redis,
    prefix,
    mode,
    batchSize,
    maxAgeMs,
    maxEvents,
    topologyCheckIntervalMs: positive(
      'clusterTopologyCheckMs',
      options.clusterTopologyCheckMs ?? 5000,
    ),
    report,
  });
  const context = {
    hub,
    maxBufferedMessages,
    batchSize,
    report,
    readFailures: createHistoryReadFailures(report, { cluster: isRedisCluster(redis) }),
    redis,
    prefix,
    active: new Set<SubscriptionQueue>(),
  };
  let closed = false;

  const subscribe = (subscribeOptions: BusSubscribeOptions): BusSubscription => {
    checkSubscribeOptions(subscribeOptions);
    if (closed) {
      const queue = createSubscriptionQueue({ maxBuffered: 1, onEnd: () => {} });
      queue.end();
      return queue.subscription;
    }
    return subscribeOptions.tenantId === undefined
      ? subscribeRedisAllTenants(context, subscribeOptions)
      : subscribeRedisTenant(context, subscribeOptions.tenantId, subscribeOptions);
  };

  let positionScript: RedisScript | undefined;
  const position = async (tenantId: string): Promise<string> => {
    checkBusTenantId(tenantId, 'position()');
    positionScript ??= defineRedisScript(
      redisPositionScript(
        redisPublishSettings({ maxEvents, maxAgeMs, maxBytes, metaTtlMs }, await mode()),
      ),
    );
    const [epoch, top, topAt] = (await runRedisScript(
      redis,
      positionScript,
      redisBusKeys(prefix, tenantId).script,
      [],
    )) as [string, number, string];
    // The newest event's cursor, verifier included; a stream with none has no entry to name.
    return formatBusCursor(epoch, top, topAt ? busCursorVerifier(Number(topAt)) : undefined);
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const queue of [...context.active]) queue.end();
    // Only the connections the bus opened are closed; the user's client stays as it was.
    hub.close();
  };

  // What a tracker on a Redis store of the same deployment needs to publish inside its own apply
  // script (decision 0030): an internal contract under a symbol key, not in the EventBus type.
  let functions: Promise<string> | undefined;
  const ingest: RedisBusIngest = {
    redis,
    keys: (tenantId) => redisBusKeys(prefix, tenantId).script,
    publishFunctions: () => {
      functions ??= mode().then((kind) =>
        redisPublishFunctions(
          redisPublishSettings({ maxEvents, maxAgeMs, maxBytes, metaTtlMs }, kind),
        ),
      );
      functions.catch(() => {
        functions = undefined;
      });
      return functions;
    },
    registerTenant: (tenantId) =>
      registerRedisBusTenant(redis, prefix, tenantId).catch((error: unknown) =>
        report(toError(error)),
      ),
  };
  const bus: EventBus = { publish, subscribe, position, close };
  Object.defineProperty(bus, redisBusIngestKey, { value: ingest });
  return bus;
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({
      message: `createRedisBus: ${name} must be a positive integer.`,
    });
  }
  return value;
}

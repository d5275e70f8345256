import { toError } from '@calltrack/core/internal';
import { BusDeliveryError } from './bus-delivery-error';
import { createRedisPubSub, type RedisPubSub, type RedisPubSubMode } from './create-redis-pubsub';
import type { RedisTenantSubscriber } from './create-redis-tenant-subscriber';
import { createRedisHistoryReader, type ReadRedisHistory } from './read-redis-history';
import { isRedisCluster, type RedisBusClient, whenClusterReady } from './redis-bus-client';
import { redisBusChannelPattern, redisBusKeys, redisBusTenantRegistry } from './redis-bus-keys';
import { parseRedisLiveMessage, type RedisLiveMessages } from './redis-stream-message';

/** Options of {@link createRedisChannelHub}. */
export interface RedisChannelHubOptions {
  redis: RedisBusClient;
  prefix: string;
  /** Resolves the pub/sub kind once (detection may need a round trip). */
  mode: () => Promise<RedisPubSubMode>;
  batchSize: number;
  maxAgeMs: number;
  maxEvents: number;
  topologyCheckIntervalMs: number;
  report: (error: Error) => void;
}

/** Receives every tenant's live messages (classic pub/sub, pattern subscription). */
export interface AllTenantsListener {
  /**
   * A live message of a tenant, parsed: an `event` is undefined when it could not be read, and
   * `unreadable` says something was not even a cursor (both already reported).
   */
  receive(tenantId: string, live: RedisLiveMessages): void;
  /** Live delivery was interrupted: messages were missed, with no per-tenant position. */
  reconnected(): void;
}

/** Hears about tenants for all-tenants subscriptions under sharded pub/sub. */
export interface TenantRegistryListener {
  /** A tenant published for the first time in its stream (or was found missing). */
  tenantAppeared(tenantId: string): void;
  /** The registry's channel was interrupted: read the set again. */
  reconnected(): void;
}

/**
 * The live side of one Redis bus: one pub/sub subscription per tenant channel, shared by every
 * subscriber of the tenant in this process. Each live message is parsed once and handed to each
 * subscriber in isolation; after an interruption each subscriber is told to catch up.
 */
export interface RedisChannelHub {
  /** The pub/sub kind, once known. */
  mode(): Promise<RedisPubSubMode>;
  /** Attaches a tenant subscriber; resolves once its tenant's channel is subscribed. */
  attachTenant(tenantId: string, subscriber: RedisTenantSubscriber): Promise<void>;
  detachTenant(tenantId: string, subscriber: RedisTenantSubscriber): void;
  /** The history read of a tenant. */
  historyOf(tenantId: string): ReadRedisHistory;
  /** Classic only: every tenant's messages through one pattern subscription. */
  attachAllTenants(listener: AllTenantsListener): Promise<void>;
  detachAllTenants(listener: AllTenantsListener): void;
  /** Sharded only: announcements of new tenants; resolves once subscribed. */
  attachRegistry(listener: TenantRegistryListener): Promise<void>;
  detachRegistry(listener: TenantRegistryListener): void;
  close(): void;
}

interface TenantChannel {
  tenantId: string;
  subscribers: Set<RedisTenantSubscriber>;
  attached: Promise<void>;
  history: ReadRedisHistory;
}

/** Creates the live side of a Redis bus; connections are opened on first use. */
export function createRedisChannelHub(options: RedisChannelHubOptions): RedisChannelHub {
  const { redis, prefix, report } = options;
  const channels = new Map<string, TenantChannel>();
  const allTenants = new Set<AllTenantsListener>();
  const registryListeners = new Set<TenantRegistryListener>();
  const registry = redisBusTenantRegistry(prefix);
  const pattern = redisBusChannelPattern(prefix);
  let patternAttached: Promise<void> | undefined;
  let registryAttached: Promise<void> | undefined;
  let pubsub: Promise<RedisPubSub> | undefined;
  let closed = false;

  const tenantOfChannel = (channel: string): string | undefined => {
    const open = channel.indexOf('{', prefix.length);
    const close = channel.indexOf('}', open);
    return open < 0 || close < 0 ? undefined : channel.slice(open + 1, close);
  };

  const unreadable = (channel: string, detail: string, cursor?: string, cause?: Error): void => {
    report(
      new BusDeliveryError({
        reason: 'unreadable',
        message: `Skipped a live message on ${channel}: ${detail}.`,
        tenantId: tenantOfChannel(channel),
        ...(cursor === undefined ? {} : { cursor }),
        cause,
      }),
    );
  };

  /** Parses a live message once; reports what it cannot read. */
  const parse = (channel: string, raw: string, tenantId: string | undefined) => {
    const parsed = parseRedisLiveMessage(raw, tenantId);
    const { messages, unreadable: broken } = parsed;
    if (broken)
      unreadable(channel, messages.length === 0 ? 'no cursor' : 'no cursor after the events');
    for (const message of messages) {
      if (message.error) {
        unreadable(
          channel,
          `${message.error.message}; reading it from history instead`,
          message.cursor,
          message.error,
        );
      }
    }
    return parsed;
  };

  const onMessage = (channel: string, raw: string): void => {
    if (channel === registry.channel) {
      for (const listener of registryListeners) listener.tenantAppeared(raw);
      return;
    }
    const state = channels.get(channel);
    if (!state) return;
    const { messages, unreadable: broken } = parse(channel, raw, state.tenantId);
    const each = (deliver: (subscriber: RedisTenantSubscriber) => void): void => {
      for (const subscriber of state.subscribers) {
        try {
          deliver(subscriber);
        } catch (error) {
          report(toError(error));
        }
      }
    };
    for (const message of messages) each((subscriber) => subscriber.receive(message));
    // What had no cursor may be events (a later version's format, say): history has them if so,
    // and nothing else would send the subscribers there before the tenant's next message.
    if (broken) each((subscriber) => subscriber.catchUp());
  };

  const onPatternMessage = (channel: string, raw: string): void => {
    const tenantId = tenantOfChannel(channel);
    if (tenantId === undefined) {
      unreadable(channel, 'not a tenant channel');
      return;
    }
    const live = parse(channel, raw, tenantId);
    for (const listener of allTenants) {
      try {
        listener.receive(tenantId, live);
      } catch (error) {
        report(toError(error));
      }
    }
  };

  const onReattached = (reattached: readonly string[], patterns: boolean): void => {
    for (const channel of reattached) {
      if (channel === registry.channel) {
        for (const listener of registryListeners) listener.reconnected();
        continue;
      }
      for (const subscriber of channels.get(channel)?.subscribers ?? []) subscriber.catchUp();
    }
    if (patterns) for (const listener of allTenants) listener.reconnected();
  };

  const connect = (): Promise<RedisPubSub> => {
    pubsub ??= options.mode().then(async (mode) => {
      if (isRedisCluster(redis)) await whenClusterReady(redis);
      return createRedisPubSub({
        client: redis,
        mode,
        onMessage,
        onPatternMessage,
        onReattached,
        onError: report,
        topologyCheckIntervalMs: options.topologyCheckIntervalMs,
      });
    });
    // A failed detection is asked again next time.
    pubsub.catch(() => {
      pubsub = undefined;
    });
    return pubsub;
  };

  return {
    mode: options.mode,

    attachTenant(tenantId, subscriber) {
      const keys = redisBusKeys(prefix, tenantId);
      let state = channels.get(keys.channel);
      if (!state) {
        state = {
          tenantId,
          subscribers: new Set(),
          attached: connect().then((connected) =>
            closed ? undefined : connected.subscribe(keys.channel),
          ),
          history: createRedisHistoryReader({
            redis,
            keys,
            tenantId,
            batchSize: options.batchSize,
            maxAgeMs: options.maxAgeMs,
            maxEvents: options.maxEvents,
          }),
        };
        const created = state;
        // A failed attach is tried again by the next subscriber of the tenant.
        created.attached.catch(() => {
          if (channels.get(keys.channel) === created && created.subscribers.size === 0) {
            channels.delete(keys.channel);
          }
        });
        channels.set(keys.channel, state);
      }
      state.subscribers.add(subscriber);
      return state.attached;
    },

    detachTenant(tenantId, subscriber) {
      const { channel } = redisBusKeys(prefix, tenantId);
      const state = channels.get(channel);
      if (!state?.subscribers.delete(subscriber) || state.subscribers.size > 0) return;
      channels.delete(channel);
      void pubsub?.then(
        (connected) => closed || connected.unsubscribe(channel),
        () => {},
      );
    },

    historyOf(tenantId) {
      const keys = redisBusKeys(prefix, tenantId);
      return (
        channels.get(keys.channel)?.history ??
        createRedisHistoryReader({
          redis,
          keys,
          tenantId,
          batchSize: options.batchSize,
          maxAgeMs: options.maxAgeMs,
          maxEvents: options.maxEvents,
        })
      );
    },

    attachAllTenants(listener) {
      allTenants.add(listener);
      patternAttached ??= connect().then((connected) =>
        closed ? undefined : connected.subscribePattern(pattern),
      );
      patternAttached.catch(() => {
        patternAttached = undefined;
      });
      return patternAttached;
    },

    detachAllTenants(listener) {
      if (!allTenants.delete(listener) || allTenants.size > 0 || !patternAttached) return;
      patternAttached = undefined;
      void pubsub?.then(
        (connected) => closed || connected.unsubscribePattern(pattern),
        () => {},
      );
    },

    attachRegistry(listener) {
      registryListeners.add(listener);
      registryAttached ??= connect().then((connected) =>
        closed ? undefined : connected.subscribe(registry.channel),
      );
      registryAttached.catch(() => {
        registryAttached = undefined;
      });
      return registryAttached;
    },

    detachRegistry(listener) {
      if (!registryListeners.delete(listener) || registryListeners.size > 0) return;
      if (!registryAttached) return;
      registryAttached = undefined;
      void pubsub?.then(
        (connected) => closed || connected.unsubscribe(registry.channel),
        () => {},
      );
    },

    close() {
      closed = true;
      channels.clear();
      allTenants.clear();
      registryListeners.clear();
      void pubsub?.then(
        (connected) => connected.close(),
        () => {},
      );
    },
  };
}

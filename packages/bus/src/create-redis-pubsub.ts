import { toError } from '@calltrack/core/internal';
import type { Cluster } from 'ioredis';
import { createRedisNodeLinks, type RedisNodeLink } from './create-redis-node-links';
import { isRedisCluster, type RedisBusClient } from './redis-bus-client';
import { redisClusterSlot } from './redis-cluster-slot';

/**
 * How live messages travel: `classic` PUBLISH / SUBSCRIBE (on a Cluster every message is copied
 * to every node), or `sharded` SPUBLISH / SSUBSCRIBE (Redis ≥ 7: a message stays on the nodes of
 * its channel's slot).
 */
export type RedisPubSubMode = 'classic' | 'sharded';

/** Options of {@link createRedisPubSub}. */
export interface RedisPubSubOptions {
  /** The user's client; the pub/sub connections are `duplicate()`s of it (or of its nodes). */
  client: RedisBusClient;
  mode: RedisPubSubMode;
  /** A message on a subscribed channel. */
  onMessage: (channel: string, raw: string) => void;
  /** A message on a channel matched by a pattern subscription (classic only). */
  onPatternMessage: (channel: string, raw: string) => void;
  /**
   * These channels (and, with `patterns`, the pattern subscriptions) lost live delivery for a
   * while and are attached again: messages published meanwhile were missed.
   */
  onReattached: (channels: readonly string[], patterns: boolean) => void;
  /** Connection failures the connections recover from by themselves. */
  onError: (error: Error) => void;
  /** Cluster only: how often the slot map is checked for channels that moved. */
  topologyCheckIntervalMs: number;
}

/** The live side of the Redis bus: channel subscriptions that survive reconnects and moves. */
export interface RedisPubSub {
  /** Subscribes a channel; resolves once the server confirmed it. Once per channel. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): void;
  /** Subscribes a pattern (classic only); resolves once the server confirmed it. */
  subscribePattern(pattern: string): Promise<void>;
  unsubscribePattern(pattern: string): void;
  /** Closes every connection it opened. */
  close(): void;
}

interface ChannelEntry {
  link: RedisNodeLink | undefined;
  /**
   * Withdraws its SUBSCRIBE while the link still holds it (not connected yet): true if it did,
   * and then there is nothing to unsubscribe.
   */
  withdraw: (() => boolean) | undefined;
  /** Increases with every SUBSCRIBE sent, so a late answer to an old one is ignored. */
  attempt: number;
  attachedOnce: boolean;
  waiters: (() => void)[];
}

const single = 'single';

/**
 * Subscriptions on one connection for a single Redis, and on a Cluster one connection per node
 * that owns subscribed channels (sharded) or one connection to one master (classic). Every
 * connection retries forever and resubscribes by itself; once it is back it says which channels
 * may have missed messages. On a Cluster, the slot map is checked on MOVED replies, on unexpected
 * unsubscriptions (a slot moved away), on lost connections and periodically: a channel whose
 * slot moved is subscribed on its new node and reported as reattached.
 */
export function createRedisPubSub(options: RedisPubSubOptions): RedisPubSub {
  const { client, mode } = options;
  const cluster: Cluster | undefined = isRedisCluster(client) ? client : undefined;
  const channels = new Map<string, ChannelEntry>();
  const patterns = new Map<string, Omit<ChannelEntry, 'link' | 'withdraw' | 'attempt'>>();
  let classicKey: string | undefined;
  let closed = false;
  let refreshQueued = false;
  let timer: NodeJS.Timeout | undefined;

  const report = (error: unknown): void => {
    options.onError(toError(error));
  };

  // The connections, one per node subscribed on; what they report lands in the routing below.
  const links = createRedisNodeLinks({
    client,
    onMessage: options.onMessage,
    onPatternMessage: options.onPatternMessage,
    onResubscribed: (link) => options.onReattached([...link.channels], link.patterns.size > 0),
    onStateUnknown: (link) => replaceLink(link),
    onTopologyHint: () => queueRefresh(),
    isClosed: () => closed,
    report,
  });

  // ---- routing ----------------------------------------------------------------------------

  const masters = (): Set<string> => {
    const keys = new Set<string>();
    for (const owners of cluster?.slots ?? []) if (owners?.[0]) keys.add(owners[0]);
    return keys;
  };

  const targetOf = (channel: string): string | undefined => {
    if (!cluster) return single;
    if (mode === 'sharded') return cluster.slots[redisClusterSlot(channel)]?.[0];
    // Classic pub/sub reaches every node of a Cluster: one master serves every channel.
    classicKey ??= [...masters()][0];
    return classicKey;
  };

  const place = (channel: string, entry: ChannelEntry): void => {
    if (closed) return;
    const key = targetOf(channel);
    const link = key === undefined ? undefined : links.open(key);
    if (!link) {
      // No route yet (the slot map is being refreshed): the refresh places it.
      queueRefresh();
      return;
    }
    entry.link = link;
    link.channels.add(channel);
    entry.attempt += 1;
    const attempt = entry.attempt;
    const subscribing = new Promise<unknown>((resolve, reject) => {
      entry.withdraw = links.whenReady(link, () => {
        const sent =
          mode === 'sharded'
            ? link.connection.ssubscribe(channel)
            : link.connection.subscribe(channel);
        sent.then(resolve, reject);
      });
    });
    subscribing.then(
      () => {
        if (channels.get(channel) !== entry || entry.attempt !== attempt) return;
        const moved = entry.attachedOnce;
        entry.attachedOnce = true;
        for (const resolve of entry.waiters.splice(0)) resolve();
        if (moved) options.onReattached([channel], false);
      },
      (error: unknown) => {
        if (channels.get(channel) !== entry || entry.attempt !== attempt) return;
        report(error);
        // Try again shortly, wherever the slot map then says.
        setTimeout(() => {
          if (channels.get(channel) !== entry || entry.attempt !== attempt) return;
          link.channels.delete(channel);
          entry.link = undefined;
          place(channel, entry);
        }, 250).unref();
      },
    );
  };

  /** Subscribes the patterns on the classic link (again, after it was replaced). */
  const placePatterns = (): void => {
    if (patterns.size === 0 || closed) return;
    const key = targetOf('');
    const link = key === undefined ? undefined : links.open(key);
    if (!link) {
      queueRefresh();
      return;
    }
    const fresh = [...patterns.keys()].filter((pattern) => !link.patterns.has(pattern));
    if (fresh.length === 0) return;
    for (const pattern of fresh) link.patterns.add(pattern);
    const subscribing = new Promise<unknown>((resolve, reject) =>
      links.whenReady(link, () => link.connection.psubscribe(...fresh).then(resolve, reject)),
    );
    subscribing.then(
      () => {
        let moved = false;
        for (const pattern of fresh) {
          const entry = patterns.get(pattern);
          if (!entry) continue;
          moved ||= entry.attachedOnce;
          entry.attachedOnce = true;
          for (const resolve of entry.waiters.splice(0)) resolve();
        }
        if (moved) options.onReattached([], true);
      },
      (error: unknown) => report(error),
    );
  };

  const dropLink = (link: RedisNodeLink): void => {
    if (classicKey === link.key) classicKey = undefined;
    links.drop(link);
  };

  /** Closes a connection whose state is unknown and places its channels again. */
  const replaceLink = (link: RedisNodeLink): void => {
    if (!links.isCurrent(link)) return;
    dropLink(link);
    for (const [channel, entry] of channels) {
      if (entry.link === link) {
        entry.link = undefined;
        place(channel, entry);
      }
    }
    if (link.patterns.size > 0) placePatterns();
  };

  /** After a slot map refresh: moves every channel whose slot lives elsewhere now. */
  const reroute = (): void => {
    if (!cluster || closed) return;
    const current = masters();
    if (current.size === 0) return;
    for (const link of links.list()) {
      if (!current.has(link.key)) {
        // Not a master any more (failed over, removed): its channels go to their new owner.
        dropLink(link);
        for (const [channel, entry] of channels) {
          if (entry.link === link) {
            entry.link = undefined;
            place(channel, entry);
          }
        }
      }
    }
    placePatterns();
    for (const [channel, entry] of channels) {
      const key = targetOf(channel);
      if (key === undefined || entry.link?.key === key) continue;
      const previous = entry.link;
      if (previous) {
        previous.channels.delete(channel);
        links.whenReady(previous, () => {
          const leaving =
            mode === 'sharded'
              ? previous.connection.sunsubscribe(channel)
              : previous.connection.unsubscribe(channel);
          leaving.catch(() => {});
        });
      }
      entry.link = undefined;
      place(channel, entry);
    }
  };

  const queueRefresh = (): void => {
    if (!cluster || closed || refreshQueued) return;
    refreshQueued = true;
    // Many connections report one incident at once: refresh once for all of them.
    setTimeout(() => {
      refreshQueued = false;
      if (closed) return;
      cluster.refreshSlotsCache((error) => {
        if (error) report(error);
        reroute();
      });
    }, 50).unref();
  };

  if (cluster) {
    timer = setInterval(queueRefresh, options.topologyCheckIntervalMs);
    timer.unref();
  }

  // ---- the interface ----------------------------------------------------------------------

  return {
    subscribe(channel) {
      const entry: ChannelEntry = {
        link: undefined,
        withdraw: undefined,
        attempt: 0,
        attachedOnce: false,
        waiters: [],
      };
      channels.set(channel, entry);
      const attached = new Promise<void>((resolve) => entry.waiters.push(resolve));
      place(channel, entry);
      return attached;
    },
    unsubscribe(channel) {
      const entry = channels.get(channel);
      if (!entry) return;
      channels.delete(channel);
      for (const resolve of entry.waiters.splice(0)) resolve();
      const link = entry.link;
      if (!link) return;
      link.channels.delete(channel);
      // Opened and closed while its connection was down: its SUBSCRIBE was never sent, so it is
      // not sent now, nor an UNSUBSCRIBE (a churn of clients during an outage costs nothing).
      if (entry.withdraw?.()) return;
      links.whenReady(link, () => {
        const leaving =
          mode === 'sharded'
            ? link.connection.sunsubscribe(channel)
            : link.connection.unsubscribe(channel);
        leaving.catch((error: unknown) => {
          if (!closed) report(error);
        });
      });
    },
    subscribePattern(pattern) {
      if (mode === 'sharded') {
        return Promise.reject(new Error('Sharded pub/sub has no pattern subscriptions.'));
      }
      const entry = { attachedOnce: false, waiters: [] as (() => void)[] };
      patterns.set(pattern, entry);
      const attached = new Promise<void>((resolve) => entry.waiters.push(resolve));
      placePatterns();
      return attached;
    },
    unsubscribePattern(pattern) {
      for (const resolve of patterns.get(pattern)?.waiters.splice(0) ?? []) resolve();
      patterns.delete(pattern);
      for (const link of links.list()) {
        if (link.patterns.delete(pattern)) {
          links.whenReady(link, () =>
            link.connection.punsubscribe(pattern).catch((error: unknown) => {
              if (!closed) report(error);
            }),
          );
        }
      }
    },
    close() {
      closed = true;
      clearInterval(timer);
      for (const entry of channels.values())
        for (const resolve of entry.waiters.splice(0)) resolve();
      channels.clear();
      for (const link of links.list()) dropLink(link);
    },
  };
}

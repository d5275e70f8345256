import { createOutageIncident } from '@calltrack/core/internal';
import type { Redis } from 'ioredis';
import { isRedisCluster, type RedisBusClient } from './redis-bus-client';

/** One connection of ours to one Redis node, and what is subscribed on it. */
export interface RedisNodeLink {
  key: string;
  connection: Redis;
  /** Kept by the router: the channels placed on this link. */
  channels: Set<string>;
  /** Kept by the router: the patterns subscribed on this link. */
  patterns: Set<string>;
  /** (Un)subscribe commands held until the connection is ready, in the order they were asked. */
  held: Set<() => void>;
}

/** Options of {@link createRedisNodeLinks}. */
export interface RedisNodeLinksOptions {
  /** The user's client; the links are `duplicate()`s of it (or of its nodes). */
  client: RedisBusClient;
  /** A message on a subscribed channel. */
  onMessage: (channel: string, raw: string) => void;
  /** A message on a channel matched by a pattern subscription. */
  onPatternMessage: (channel: string, raw: string) => void;
  /**
   * A link came back after losing its connection, and ioredis has subscribed its channels and
   * patterns again: messages published meanwhile were missed.
   */
  onResubscribed: (link: RedisNodeLink) => void;
  /**
   * The link's state is unknown (Cluster: its command queue lost track), or its connection ended
   * without being dropped: replace it.
   */
  onStateUnknown: (link: RedisNodeLink) => void;
  /** Cluster only: the slot map may have changed (a MOVED reply, a lost link). */
  onTopologyHint: () => void;
  /** Whether the pub/sub was closed (a late reconnect then reports nothing). */
  isClosed: () => boolean;
  /** Connection failures the links recover from by themselves, and handlers' failures. */
  report: (error: unknown) => void;
}

/** The pub/sub's connections, one per Redis node it subscribes on, keyed `host:port`. */
export interface RedisNodeLinks {
  /**
   * The link to the node of `key`, opened (and connecting) if there is none; undefined when a
   * Cluster does not know that node. Without a Cluster every key gets the one duplicate.
   */
  open(key: string): RedisNodeLink | undefined;
  /** Whether `link` is still the open link of its node (not dropped or replaced). */
  isCurrent(link: RedisNodeLink): boolean;
  /** Every open link. */
  list(): RedisNodeLink[];
  /**
   * Sends a (un)subscribe command once the connection is ready. During its handshake (status
   * `connect`) ioredis writes such commands at once, before its ready check: the connection is
   * then in subscriber mode, the check's INFO is refused, and ioredis drops the connection,
   * losing subscriptions it had already confirmed (ready, but deaf). Before that, the command
   * would wait in the offline queue anyway.
   *
   * Returns a withdrawal: true when the command was still held (it is not sent now), false when
   * it was sent already.
   */
  whenReady(link: RedisNodeLink, send: () => void): () => boolean;
  /** Forgets the link and closes its connection. */
  drop(link: RedisNodeLink): void;
}

const nodeKeyOf = (node: Redis): string => `${node.options.host}:${node.options.port}`;

/** Our connections' reconnection delay: never gives up, at most a second apart. */
const retryForever = (times: number): number => Math.min(times * 50, 1000);

/**
 * Creates {@link RedisNodeLinks}: connections that retry forever and resubscribe by themselves,
 * and say when they are back (`onResubscribed`) and when the Cluster's slot map may have changed.
 */
export function createRedisNodeLinks(options: RedisNodeLinksOptions): RedisNodeLinks {
  const { client, report } = options;
  const cluster = isRedisCluster(client) ? client : undefined;
  const links = new Map<string, RedisNodeLink>();

  const isCurrent = (link: RedisNodeLink): boolean => links.get(link.key) === link;

  const open = (key: string): RedisNodeLink | undefined => {
    const existing = links.get(key);
    if (existing) return existing;
    let connection: Redis;
    if (cluster) {
      const node = cluster.nodes('all').find((candidate) => nodeKeyOf(candidate) === key);
      if (!node) return undefined;
      // Node connections of a Cluster are lazy and do not retry: ours connect now and retry
      // forever; the slot map decides when they are no longer needed.
      connection = node.duplicate({
        lazyConnect: false,
        readOnly: false,
        autoResubscribe: true,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        // SUBSCRIBE waits out an outage too: a fail-fast timeout of the user's is not ours.
        commandTimeout: undefined,
        retryStrategy: retryForever,
      });
    } else {
      // Connect now (commands wait for it to be ready, so none would connect a lazy one), retry
      // forever and resubscribe by itself: the subscriptions outlive any outage.
      connection = (client as Redis).duplicate({
        lazyConnect: false,
        autoResubscribe: true,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        // SUBSCRIBE waits out an outage too: a fail-fast timeout of the user's is not ours.
        commandTimeout: undefined,
        // A retryStrategy of the user's that gives up would end this connection for good, and
        // its subscriptions would hear nothing again without a word.
        retryStrategy: retryForever,
      });
    }
    const link: RedisNodeLink = {
      key,
      connection,
      channels: new Set(),
      patterns: new Set(),
      held: new Set(),
    };
    links.set(key, link);
    watch(link);
    return link;
  };

  const sentAlready = (): boolean => false;
  const whenReady = (link: RedisNodeLink, send: () => void): (() => boolean) => {
    if (link.connection.status === 'ready' && link.held.size === 0) {
      send();
      return sentAlready;
    }
    // A function of its own per command, so the same one held twice is held twice.
    const held = (): void => send();
    link.held.add(held);
    return () => link.held.delete(held);
  };

  const deliver = (
    handler: (channel: string, raw: string) => void,
    channel: string,
    raw: string,
  ) => {
    // A failure in a handler must never reach ioredis' reply parser.
    try {
      handler(channel, raw);
    } catch (error) {
      report(error);
    }
  };

  const watch = (link: RedisNodeLink): void => {
    const { connection } = link;
    let readyBefore = false;
    // An outage of this connection is reported once when it starts (its first error while not
    // ready) and once when it ends: it retries every few seconds for as long as Redis is down,
    // and each failed attempt is another error event. An error while ready is reported as it is.
    const outage = createOutageIncident({
      back: `The Redis bus's subscriber connection to ${link.key} is back`,
      failures: 'connection errors',
    });
    connection.on('error', (error: Error) => {
      if (outage.open) outage.failed();
      else {
        report(error);
        if (connection.status !== 'ready') outage.failed();
      }
      // ioredis reads a SUNSUBSCRIBE the server pushes (its slot moved away) as the answer to
      // a command it never sent: this connection's state can no longer be trusted.
      if (cluster && /Command queue state error/.test(error.message)) options.onStateUnknown(link);
    });
    connection.on('message', (channel: string, raw: string) =>
      deliver(options.onMessage, channel, raw),
    );
    connection.on('smessage', (channel: string, raw: string) =>
      deliver(options.onMessage, channel, raw),
    );
    connection.on('pmessage', (_pattern: string, channel: string, raw: string) =>
      deliver(options.onPatternMessage, channel, raw),
    );
    connection.on('moved', () => options.onTopologyHint());
    connection.on('close', () => {
      if (cluster && isCurrent(link)) options.onTopologyHint();
    });
    connection.on('end', () => {
      // Ours retry forever and only `drop` ends them: one ended otherwise (a reconnectOnError
      // of the user's, ioredis giving up) is replaced, so no subscription stays silently deaf.
      if (options.isClosed() || !isCurrent(link)) return;
      report(
        new Error(`The Redis bus's subscriber connection to ${link.key} ended; opening another`),
      );
      options.onStateUnknown(link);
    });
    connection.on('ready', () => {
      const back = outage.end();
      if (back && !options.isClosed() && isCurrent(link)) report(new Error(back));
      if (connection.status === 'ready') {
        const sends = [...link.held];
        link.held.clear();
        for (const send of sends) send();
      }
      if (!readyBefore) {
        readyBefore = true;
        return;
      }
      // ioredis resubscribes right after emitting 'ready'; a PING answered after those
      // SUBSCRIBE replies means live delivery is back, so history reads now close the gap.
      setImmediate(() => {
        connection
          .ping()
          .then(() => {
            if (options.isClosed() || !isCurrent(link)) return;
            options.onResubscribed(link);
          })
          .catch(report);
      });
    });
  };

  return {
    open,
    isCurrent,
    list: () => [...links.values()],
    whenReady,
    drop(link) {
      if (isCurrent(link)) links.delete(link.key);
      link.connection.disconnect();
    },
  };
}

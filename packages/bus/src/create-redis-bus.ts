import { BusUnavailableError, type CallEvent, parseCallEvent } from '@calltrack/core';
import { defineRedisScript, runRedisScript } from '@calltrack/redis-script';
import type { Redis } from 'ioredis';
import { createBusEpoch, formatBusCursor, parseBusCursor } from './bus-cursor';
import { checkSubscribeOptions } from './check-subscribe-options';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import type {
  BusOptions,
  BusPublishResult,
  BusSubscribeOptions,
  BusSubscription,
  EventBus,
} from './event-bus';
import { matchesSubscription } from './matches-subscription';
import { type RedisBusKeys, redisBusChannelPattern, redisBusKeys } from './redis-bus-keys';
import { publishScript, readScript } from './redis-bus-scripts';
import { resolveBusOptions } from './resolve-bus-options';

/** Options of {@link createRedisBus}. */
export interface RedisBusOptions extends BusOptions {
  /**
   * Your ioredis client. The bus runs its commands on it and `duplicate()`s it once for
   * subscribing; it closes only the duplicate.
   */
  redis: Redis;
  /** Prefix of every key and channel. Default `calltrack:bus`. */
  prefix?: string;
  /**
   * How long `publish` waits for Redis before rejecting with `BusUnavailableError`. The event may
   * still have been published; publishing it again is safe. Default 5,000 ms.
   */
  publishTimeoutMs?: number;
  /** How long a tenant's epoch and sequence outlive its last publish. Default 7 days. */
  metaTtlMs?: number;
  /** Events fetched per history read while resuming. Default 500. */
  replayBatchSize?: number;
  /** Background failures (lost subscriber connection, failed catch-up reads). Default: ignored. */
  onError?: (error: Error) => void;
}

interface LiveMessage {
  epoch: string;
  seq: number;
  cursor: string;
  event: CallEvent;
}

/** One subscription to one tenant: where it is in the tenant's stream, and what is pending. */
interface TenantSubscriber {
  keys: RedisBusKeys;
  queue: SubscriptionQueue;
  matches: (event: CallEvent) => boolean;
  /** The stream incarnation followed; null when the tenant had no stream when last looked. */
  epoch: string | null;
  /** Sequence number of the last event handled (delivered or filtered out). */
  lastSeq: number;
  /** A history read is in flight: live messages wait in `pending`. */
  syncing: boolean;
  pending: LiveMessage[];
  resyncRequested: boolean;
}

interface AllTenantsSubscriber {
  queue: SubscriptionQueue;
  matches: (event: CallEvent) => boolean;
}

interface ChannelState {
  subscribers: Set<TenantSubscriber>;
  attached: Promise<unknown>;
}

const publishLua = defineRedisScript(publishScript);
const readLua = defineRedisScript(readScript);
const unavailableStatuses = new Set(['reconnecting', 'close', 'end']);

/**
 * An event bus shared by many processes through Redis. Per tenant: a sequence number and epoch,
 * a bounded stream of history and a de-duplication index, all changed atomically with the live
 * PUBLISH by one Lua script. Subscribers attach to pub/sub first, then read history, and use the
 * sequence numbers to close any gap (a missed message, a reconnect) from history.
 */
export function createRedisBus(options: RedisBusOptions): EventBus {
  const { maxEvents, maxAgeMs, maxBufferedMessages } = resolveBusOptions(options);
  const { redis } = options;
  const prefix = options.prefix ?? 'calltrack:bus';
  const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
  const metaTtlMs = options.metaTtlMs ?? 7 * 24 * 60 * 60 * 1000;
  const replayBatchSize = options.replayBatchSize ?? 500;
  const reportError = (error: unknown): void => {
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  };

  const channels = new Map<string, ChannelState>();
  const allTenantSubscribers = new Set<AllTenantsSubscriber>();
  let patternAttached: Promise<unknown> | undefined;
  let subscriberConnection: Redis | undefined;
  let closed = false;

  // ---- publishing -------------------------------------------------------------------------

  const publish = async (input: CallEvent): Promise<BusPublishResult> => {
    const event = parseCallEvent(input);
    if (unavailableStatuses.has(redis.status)) {
      throw new BusUnavailableError({
        message: `The Redis bus cannot publish: the Redis connection is ${redis.status}. The event was not published.`,
      });
    }
    const keys = redisBusKeys(prefix, event.tenantId);
    let timer: NodeJS.Timeout | undefined;
    const running = runRedisScript(
      redis,
      publishLua,
      [keys.meta, keys.stream, keys.ids],
      [
        JSON.stringify(event),
        event.id,
        keys.channel,
        maxEvents,
        maxAgeMs,
        metaTtlMs,
        createBusEpoch(),
      ],
    );
    // When the timeout wins, the command may still fail later: that must not become an
    // unhandled rejection (which ends a Node process).
    running.catch(() => {});
    try {
      const result = (await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${publishTimeoutMs} ms`)),
            publishTimeoutMs,
          );
        }),
      ])) as [string, number];
      return { cursor: result[0], duplicate: result[1] === 1 };
    } catch (error) {
      throw new BusUnavailableError({
        message: `The Redis bus could not publish event ${event.id}: ${
          error instanceof Error ? error.message : String(error)
        }. It may or may not have been published; publishing it again is safe.`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  };

  // ---- reading history --------------------------------------------------------------------

  interface HistoryPage {
    epoch: string | null;
    top: number;
    status: 'ok' | 'gap';
    entries: LiveMessage[];
  }

  const readHistory = async (keys: RedisBusKeys, after: number | null): Promise<HistoryPage> => {
    const reply = (await runRedisScript(
      redis,
      readLua,
      [keys.meta, keys.stream],
      [after === null ? '' : after, replayBatchSize, maxAgeMs, maxEvents],
    )) as string[];
    const epoch = reply[0] || null;
    const entries: LiveMessage[] = [];
    for (let index = 3; index + 1 < reply.length; index += 2) {
      const seq = Number(reply[index]);
      entries.push({
        epoch: epoch as string,
        seq,
        cursor: formatBusCursor(epoch as string, seq),
        event: JSON.parse(reply[index + 1] as string) as CallEvent,
      });
    }
    return { epoch, top: Number(reply[1]), status: reply[2] as 'ok' | 'gap', entries };
  };

  // ---- one tenant subscriber's position ---------------------------------------------------

  /** Delivers the next event in sequence (if it passes the filter) and advances the position. */
  const handle = (
    subscriber: TenantSubscriber,
    message: LiveMessage,
    fromHistory: boolean,
  ): void => {
    subscriber.lastSeq = message.seq;
    if (subscriber.matches(message.event)) {
      subscriber.queue.push(
        { type: 'event', cursor: message.cursor, event: message.event },
        fromHistory,
      );
    }
  };

  const reset = (subscriber: TenantSubscriber, reason: 'history-gap' | 'stream-reset'): void => {
    subscriber.queue.push({ type: 'reset', recovered: false, reason });
  };

  /** Applies a live message in order; a gap in sequence numbers starts a catch-up from history. */
  const apply = (subscriber: TenantSubscriber, message: LiveMessage): void => {
    if (subscriber.epoch === null) {
      // The tenant had no stream when we attached: everything in this one is new to us.
      subscriber.epoch = message.epoch;
      subscriber.lastSeq = 0;
    } else if (message.epoch !== subscriber.epoch) {
      reset(subscriber, 'stream-reset');
      subscriber.epoch = message.epoch;
      subscriber.lastSeq = message.seq - 1;
    }
    if (message.seq <= subscriber.lastSeq) return;
    if (message.seq === subscriber.lastSeq + 1) {
      handle(subscriber, message, false);
      return;
    }
    subscriber.pending.push(message);
    startSync(subscriber, 'catch-up');
  };

  const receive = (subscriber: TenantSubscriber, message: LiveMessage): void => {
    if (subscriber.syncing) subscriber.pending.push(message);
    else apply(subscriber, message);
  };

  /**
   * Reads history to bring a subscriber up to date. `position` only learns where the stream is
   * (a new live subscription); `catch-up` delivers everything after `lastSeq`.
   */
  const sync = async (
    subscriber: TenantSubscriber,
    mode: 'position' | 'catch-up',
  ): Promise<void> => {
    if (mode === 'position') {
      const page = await readHistory(subscriber.keys, null);
      subscriber.epoch = page.epoch;
      subscriber.lastSeq = page.top;
      return;
    }
    for (;;) {
      const known = subscriber.epoch;
      const page = await readHistory(subscriber.keys, subscriber.lastSeq);
      if (page.epoch === null) {
        if (known !== null && subscriber.lastSeq > 0) reset(subscriber, 'stream-reset');
        subscriber.epoch = null;
        subscriber.lastSeq = 0;
        return;
      }
      if (known !== null && (page.epoch !== known || subscriber.lastSeq > page.top)) {
        reset(subscriber, 'stream-reset');
        subscriber.epoch = page.epoch;
        subscriber.lastSeq = page.top;
        return;
      }
      subscriber.epoch = page.epoch;
      if (page.status === 'gap') {
        reset(subscriber, 'history-gap');
        subscriber.lastSeq = page.top;
        return;
      }
      for (const entry of page.entries) handle(subscriber, entry, true);
      if (page.entries.length < replayBatchSize || !subscriber.queue.open) return;
    }
  };

  const startSync = (subscriber: TenantSubscriber, mode: 'position' | 'catch-up'): void => {
    if (subscriber.syncing) {
      subscriber.resyncRequested = true;
      return;
    }
    subscriber.syncing = true;
    void runSync(subscriber, mode);
  };

  const runSync = async (
    subscriber: TenantSubscriber,
    mode: 'position' | 'catch-up',
  ): Promise<void> => {
    let failed = false;
    try {
      await sync(subscriber, mode);
    } catch (error) {
      failed = true;
      reportError(error);
    }
    subscriber.syncing = false;
    if (!subscriber.queue.open) return;
    if (failed) {
      // Redis is unreachable for now; try again shortly (a reconnect also triggers a catch-up).
      setTimeout(() => startSync(subscriber, mode), 250).unref();
      return;
    }
    subscriber.queue.markReady();
    const pending = subscriber.pending;
    subscriber.pending = [];
    for (const message of pending) receive(subscriber, message);
    if (subscriber.resyncRequested && !subscriber.syncing) {
      subscriber.resyncRequested = false;
      startSync(subscriber, 'catch-up');
    }
  };

  // ---- the subscriber connection ----------------------------------------------------------

  const parseLive = (message: string): LiveMessage | undefined => {
    const newline = message.indexOf('\n');
    const position = parseBusCursor(message.slice(0, newline));
    if (newline < 0 || !position) return undefined;
    return {
      epoch: position.epoch,
      seq: position.seq,
      cursor: message.slice(0, newline),
      event: JSON.parse(message.slice(newline + 1)) as CallEvent,
    };
  };

  const connection = (): Redis => {
    if (subscriberConnection) return subscriberConnection;
    // Retry forever and resubscribe by itself: the subscriptions outlive any outage.
    const connection = redis.duplicate({
      autoResubscribe: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    });
    let readyBefore = false;
    connection.on('error', reportError);
    connection.on('message', (channel: string, raw: string) => {
      const state = channels.get(channel);
      const message = state && parseLive(raw);
      if (!state || !message) return;
      for (const subscriber of state.subscribers) receive(subscriber, message);
    });
    connection.on('pmessage', (_pattern: string, _channel: string, raw: string) => {
      const message = parseLive(raw);
      if (!message) return;
      for (const subscriber of allTenantSubscribers) {
        if (subscriber.matches(message.event)) {
          subscriber.queue.push({ type: 'event', cursor: message.cursor, event: message.event });
        }
      }
    });
    connection.on('ready', () => {
      if (!readyBefore) {
        readyBefore = true;
        return;
      }
      // ioredis resubscribes right after emitting 'ready'; a PING answered after those
      // SUBSCRIBE replies means live delivery is back, so history reads now close the outage gap.
      setImmediate(() => {
        connection
          .ping()
          .then(() => {
            for (const state of channels.values()) {
              for (const subscriber of state.subscribers) startSync(subscriber, 'catch-up');
            }
            for (const subscriber of allTenantSubscribers) {
              subscriber.queue.push({ type: 'reset', recovered: false, reason: 'reconnected' });
            }
          })
          .catch(reportError);
      });
    });
    subscriberConnection = connection;
    return connection;
  };

  const attachChannel = (keys: RedisBusKeys, subscriber: TenantSubscriber): Promise<unknown> => {
    let state = channels.get(keys.channel);
    if (!state) {
      state = { subscribers: new Set(), attached: connection().subscribe(keys.channel) };
      channels.set(keys.channel, state);
    }
    state.subscribers.add(subscriber);
    return state.attached;
  };

  const detachChannel = (keys: RedisBusKeys, subscriber: TenantSubscriber): void => {
    const state = channels.get(keys.channel);
    if (!state) return;
    state.subscribers.delete(subscriber);
    if (state.subscribers.size === 0) {
      channels.delete(keys.channel);
      subscriberConnection?.unsubscribe(keys.channel).catch(reportError);
    }
  };

  // ---- subscribe / close ------------------------------------------------------------------

  const subscribeToTenant = (
    tenantId: string,
    subscribeOptions: BusSubscribeOptions,
  ): BusSubscription => {
    const keys = redisBusKeys(prefix, tenantId);
    const subscriber: TenantSubscriber = {
      keys,
      matches: matchesSubscription(subscribeOptions),
      queue: createSubscriptionQueue({
        maxBuffered: maxBufferedMessages,
        after: subscribeOptions.after,
        signal: subscribeOptions.signal,
        onEnd: () => detachChannel(keys, subscriber),
      }),
      epoch: null,
      lastSeq: 0,
      syncing: true,
      pending: [],
      resyncRequested: false,
    };
    if (!subscriber.queue.open) return subscriber.queue.subscription;

    const start = async (): Promise<void> => {
      // Live delivery first, then history: nothing published in between can be missed.
      await attachChannel(keys, subscriber);
      subscriber.syncing = false;
      if (subscribeOptions.after === undefined) {
        startSync(subscriber, 'position');
        return;
      }
      const position = parseBusCursor(subscribeOptions.after);
      if (position) {
        subscriber.epoch = position.epoch;
        subscriber.lastSeq = position.seq;
        startSync(subscriber, 'catch-up');
      } else {
        reset(subscriber, 'stream-reset');
        startSync(subscriber, 'position');
      }
    };
    start().catch(reportError);
    return subscriber.queue.subscription;
  };

  const subscribeToAllTenants = (subscribeOptions: BusSubscribeOptions): BusSubscription => {
    const subscriber: AllTenantsSubscriber = {
      matches: matchesSubscription(subscribeOptions),
      queue: createSubscriptionQueue({
        maxBuffered: maxBufferedMessages,
        signal: subscribeOptions.signal,
        onEnd: () => {
          allTenantSubscribers.delete(subscriber);
          if (allTenantSubscribers.size === 0 && patternAttached) {
            patternAttached = undefined;
            subscriberConnection?.punsubscribe(redisBusChannelPattern(prefix)).catch(reportError);
          }
        },
      }),
    };
    if (!subscriber.queue.open) return subscriber.queue.subscription;
    allTenantSubscribers.add(subscriber);
    patternAttached ??= connection().psubscribe(redisBusChannelPattern(prefix));
    patternAttached.then(() => subscriber.queue.markReady(), reportError);
    return subscriber.queue.subscription;
  };

  const subscribe = (subscribeOptions: BusSubscribeOptions): BusSubscription => {
    checkSubscribeOptions(subscribeOptions);
    if (closed) {
      const queue = createSubscriptionQueue({ maxBuffered: 1, onEnd: () => {} });
      queue.end();
      return queue.subscription;
    }
    return subscribeOptions.tenantId === undefined
      ? subscribeToAllTenants(subscribeOptions)
      : subscribeToTenant(subscribeOptions.tenantId, subscribeOptions);
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const state of [...channels.values()]) {
      for (const subscriber of [...state.subscribers]) subscriber.queue.end();
    }
    for (const subscriber of [...allTenantSubscribers]) subscriber.queue.end();
    // Only the connection the bus opened is closed; the user's client stays as it was.
    subscriberConnection?.disconnect();
    subscriberConnection = undefined;
  };

  return { publish, subscribe, close };
}

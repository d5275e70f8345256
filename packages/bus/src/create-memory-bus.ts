import type { Clock } from '@calltrack/core';
import { type CallEvent, isSealedCallEvent, parseCallEvent } from '@calltrack/core';
import { createBusEpoch, formatBusCursor, parseBusCursor } from './bus-cursor';
import { BusDeliveryError } from './bus-delivery-error';
import { callEventJson } from './call-event-json';
import { checkBusTenantId, checkSubscribeOptions } from './check-subscribe-options';
import { createSubscriptionQueue, type SubscriptionQueue } from './create-subscription-queue';
import type {
  BusOptions,
  BusPublishResult,
  BusSubscribeOptions,
  BusSubscription,
  EventBus,
} from './event-bus';
import { matchesSubscription } from './matches-subscription';
import { resolveBusOptions } from './resolve-bus-options';
import { utf8ByteLength } from './utf8-byte-length';

/** Options of {@link createMemoryBus}. */
export interface MemoryBusOptions extends BusOptions {
  /** Where the bus reads the time, for tests of the age limit. Default `Date.now`. */
  clock?: Clock;
}

interface HistoryEntry {
  seq: number;
  cursor: string;
  event: CallEvent;
  publishedAt: number;
  /** Its JSON's length in UTF-8, counted against `history.maxBytes`. */
  bytes: number;
}

interface TenantStream {
  /**
   * Names this stream, as the Redis bus names each tenant's: a cursor of another tenant's stream
   * (a user who switched workspace) is no position in this one.
   */
  epoch: string;
  seq: number;
  /**
   * History, oldest first, from `head` on (a deque without O(n) shifts); slots before `head`
   * are emptied, so an evicted event is not kept alive until the next compaction.
   */
  entries: (HistoryEntry | undefined)[];
  head: number;
  /** The bytes of the events in history. */
  bytes: number;
  /** Event id → its entry, for the events in history. */
  ids: Map<string, HistoryEntry>;
  subscribers: Set<Subscriber>;
}

interface Subscriber {
  queue: SubscriptionQueue;
  matches: (event: CallEvent) => boolean;
}

/** At most this long between sweeps of every tenant's history by age (by the bus's clock). */
const maxSweepIntervalMs = 60_000;

/**
 * An event bus for one process: per-tenant streams with bounded history, de-duplication by event
 * id, resume by cursor and bounded subscriber buffers. Publishing is synchronous under the hood,
 * so per-tenant order is the order of `publish` calls.
 */
export function createMemoryBus(options: MemoryBusOptions = {}): EventBus {
  const { maxEvents, maxAgeMs, maxBytes, maxBufferedMessages, report } = resolveBusOptions(options);
  // Bytes are counted only under a limit of the app's own (see `history.maxBytes`).
  const countsBytes = options.history?.maxBytes !== undefined;
  const { clock } = options;
  const now = clock === undefined ? Date.now : () => clock.now();
  const streams = new Map<string, TenantStream>();
  // A tenant whose history is empty and whom nobody follows keeps only its top seq here: its
  // epoch is derived from its id, so that is all a cursor check needs (an old cursor must still
  // read as history-gap, not stream-reset). A number instead of a whole stream: about 90 bytes
  // per tenant instead of 580.
  const retired = new Map<string, number>();
  // Every stream's epoch: this bus's (a restarted bus has another), then the stream's number.
  const busEpoch = createBusEpoch();
  const allTenantSubscribers = new Set<Subscriber>();
  let closed = false;

  // A tenant's epoch is derived from its id, not counted: a stream with no events and no
  // subscribers is dropped, and made again later with the same epoch, so a position taken from
  // it (`<epoch>:0`) still means the same place.
  const epochOf = (tenantId: string): string => `${busEpoch}${hashTenantId(tenantId)}`;

  const streamOf = (tenantId: string): TenantStream => {
    let stream = streams.get(tenantId);
    if (!stream) {
      const seq = retired.get(tenantId) ?? 0;
      if (seq > 0) retired.delete(tenantId);
      stream = {
        epoch: epochOf(tenantId),
        seq,
        entries: [],
        head: 0,
        bytes: 0,
        ids: new Map(),
        subscribers: new Set(),
      };
      streams.set(tenantId, stream);
    }
    return stream;
  };

  /**
   * Forgets a stream with no history that nobody follows, all but its top seq (none when no event
   * was published in it).
   */
  const dropIfUnused = (tenantId: string, stream: TenantStream): void => {
    if (
      stream.head === stream.entries.length &&
      stream.subscribers.size === 0 &&
      streams.get(tenantId) === stream
    ) {
      streams.delete(tenantId);
      if (stream.seq > 0) retired.set(tenantId, stream.seq);
    }
  };

  const evictOldest = (stream: TenantStream): void => {
    const entry = stream.entries[stream.head] as HistoryEntry;
    stream.ids.delete(entry.event.id);
    stream.bytes -= entry.bytes;
    stream.entries[stream.head] = undefined;
    stream.head += 1;
  };

  const compact = (stream: TenantStream): void => {
    if (stream.head === stream.entries.length) {
      stream.entries = [];
      stream.head = 0;
    } else if (stream.head > 256 && stream.head * 2 > stream.entries.length) {
      stream.entries = stream.entries.slice(stream.head);
      stream.head = 0;
    }
  };

  const pruneByAge = (stream: TenantStream, at: number): void => {
    const cutoff = at - maxAgeMs;
    while (
      stream.head < stream.entries.length &&
      (stream.entries[stream.head] as HistoryEntry).publishedAt < cutoff
    ) {
      evictOldest(stream);
    }
    compact(stream);
  };

  // A quiet tenant's events age out too: every stream is pruned at least once per sweep
  // interval (by the bus's clock), on the next call into the bus after it passed, or on a timer
  // while any history is held. The timer is unref'd (it keeps no process alive) and is not
  // armed while no history is held (it keeps no forgotten bus alive either).
  const sweepIntervalMs = Math.min(maxAgeMs, maxSweepIntervalMs);
  let nextSweepAt = now() + sweepIntervalMs;
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  const sweepIfDue = (at: number): void => {
    // Before the last sweep's time, the clock was set back (NTP, a resumed VM): waiting for the
    // next one would keep quiet tenants' events for as long as the step. Sweep, and go on from now.
    if (at < nextSweepAt && at >= nextSweepAt - sweepIntervalMs) return;
    nextSweepAt = at + sweepIntervalMs;
    for (const [tenantId, stream] of streams) {
      pruneByAge(stream, at);
      dropIfUnused(tenantId, stream);
    }
  };
  const holdsHistory = (): boolean => {
    for (const stream of streams.values()) if (stream.head < stream.entries.length) return true;
    return false;
  };
  const armSweepTimer = (): void => {
    if (sweepTimer !== undefined || closed) return;
    sweepTimer = setTimeout(() => {
      sweepTimer = undefined;
      sweepIfDue(now());
      if (holdsHistory()) armSweepTimer();
    }, sweepIntervalMs);
    (sweepTimer as { unref?: () => void }).unref?.();
  };

  /** Hands an event to one subscriber; whatever fails stays with that subscriber. */
  const offer = (subscriber: Subscriber, entry: HistoryEntry, fromHistory: boolean): void => {
    let wanted: boolean;
    try {
      wanted = subscriber.matches(entry.event);
    } catch (error) {
      report(
        new BusDeliveryError({
          reason: 'filter',
          message: `The subscription's filter failed on event ${entry.event.id} (${entry.cursor}); skipped.`,
          tenantId: entry.event.tenantId,
          cursor: entry.cursor,
          cause: error,
        }),
      );
      return;
    }
    if (!wanted) return;
    try {
      subscriber.queue.push(
        { type: 'event', cursor: entry.cursor, event: entry.event },
        fromHistory,
      );
    } catch (error) {
      report(
        new BusDeliveryError({
          reason: 'subscriber',
          message: `Delivering event ${entry.event.id} (${entry.cursor}) failed; the subscription is ended.`,
          tenantId: entry.event.tenantId,
          cursor: entry.cursor,
          cause: error,
        }),
      );
      try {
        subscriber.queue.cutOff();
      } catch {
        // It is broken beyond ending it; the others do not depend on it.
      }
    }
  };

  const deliver = (subscribers: Set<Subscriber>, entry: HistoryEntry): void => {
    for (const subscriber of subscribers) offer(subscriber, entry, false);
  };

  const publish = async (input: CallEvent): Promise<BusPublishResult> => {
    // A sealed event was validated and frozen by sealCallEvent: it cannot have become invalid.
    const event = isSealedCallEvent(input) ? input : parseCallEvent(input);
    const at = now();
    sweepIfDue(at);
    const stream = streamOf(event.tenantId);
    pruneByAge(stream, at);
    const existing = stream.ids.get(event.id);
    if (existing) return { cursor: existing.cursor, duplicate: true };
    // Counted as the Redis bus counts it, the UTF-8 bytes of the event's JSON, when a limit was
    // set: here the JSON is written for nothing else (a quarter of a sealed publish's time).
    const bytes = countsBytes ? utf8ByteLength(callEventJson(event)) : 0;

    stream.seq += 1;
    const entry: HistoryEntry = {
      seq: stream.seq,
      cursor: formatBusCursor(stream.epoch, stream.seq),
      event,
      publishedAt: at,
      bytes,
    };
    stream.entries.push(entry);
    stream.ids.set(event.id, entry);
    stream.bytes += bytes;
    // Oldest first, by count and by bytes; the newest stays, however large.
    while (
      stream.entries.length - stream.head > maxEvents ||
      (stream.bytes > maxBytes && stream.entries.length - stream.head > 1)
    ) {
      evictOldest(stream);
    }
    compact(stream);

    armSweepTimer();
    deliver(stream.subscribers, entry);
    deliver(allTenantSubscribers, entry);
    return { cursor: entry.cursor, duplicate: false };
  };

  /** Queues the events after `after` from history, or a reset when they are not all there. */
  const replay = (stream: TenantStream, after: string, subscriber: Subscriber): void => {
    const position = parseBusCursor(after);
    if (!position || position.epoch !== stream.epoch || position.seq > stream.seq) {
      subscriber.queue.push({ type: 'reset', recovered: false, reason: 'stream-reset' });
      return;
    }
    pruneByAge(stream, now());
    const oldest = stream.entries[stream.head];
    const firstWanted = position.seq + 1;
    if (firstWanted <= stream.seq && (!oldest || oldest.seq > firstWanted)) {
      subscriber.queue.push({ type: 'reset', recovered: false, reason: 'history-gap' });
      return;
    }
    for (let index = stream.head; index < stream.entries.length; index += 1) {
      const entry = stream.entries[index] as HistoryEntry;
      if (entry.seq >= firstWanted) offer(subscriber, entry, true);
    }
  };

  const subscribe = (subscribeOptions: BusSubscribeOptions): BusSubscription => {
    checkSubscribeOptions(subscribeOptions);
    sweepIfDue(now());
    const { tenantId } = subscribeOptions;
    const stream = tenantId === undefined ? undefined : streamOf(tenantId);
    const set = stream ? stream.subscribers : allTenantSubscribers;
    const subscriber: Subscriber = {
      matches: matchesSubscription(subscribeOptions),
      queue: createSubscriptionQueue({
        maxBuffered: maxBufferedMessages,
        after: subscribeOptions.after,
        signal: subscribeOptions.signal,
        onEnd: () => {
          set.delete(subscriber);
          if (stream && tenantId !== undefined) dropIfUnused(tenantId, stream);
        },
      }),
    };
    if (closed) {
      subscriber.queue.end();
      return subscriber.queue.subscription;
    }
    // Replay and attach happen in the same synchronous step, so nothing can fall between them.
    if (stream && subscribeOptions.after !== undefined) {
      replay(stream, subscribeOptions.after, subscriber);
    }
    if (subscriber.queue.open) set.add(subscriber);
    else if (stream && tenantId !== undefined) dropIfUnused(tenantId, stream);
    subscriber.queue.markReady();
    return subscriber.queue.subscription;
  };

  const position = async (tenantId: string): Promise<string> => {
    checkBusTenantId(tenantId, 'position()');
    sweepIfDue(now());
    // A tenant with no stream is at the start of the one it would get: nothing is kept for it.
    const stream = streams.get(tenantId);
    return stream
      ? formatBusCursor(stream.epoch, stream.seq)
      : formatBusCursor(epochOf(tenantId), retired.get(tenantId) ?? 0);
  };

  const close = async (): Promise<void> => {
    closed = true;
    clearTimeout(sweepTimer);
    sweepTimer = undefined;
    for (const stream of streams.values()) {
      for (const subscriber of stream.subscribers) subscriber.queue.end();
    }
    for (const subscriber of allTenantSubscribers) subscriber.queue.end();
  };

  return { publish, subscribe, position, close };
}

/**
 * A tenant id's 53-bit hash (cyrb53), base 36: names its stream within one bus. Two tenants
 * sharing one would each take the other's cursor for a position of their own, so it is long
 * enough for that never to be met (about 1 in 10^16 per pair).
 */
function hashTenantId(tenantId: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let index = 0; index < tenantId.length; index += 1) {
    const code = tenantId.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

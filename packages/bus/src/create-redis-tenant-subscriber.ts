import type { CallEvent } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';
import { parseBusCursor } from './bus-cursor';
import { BusDeliveryError } from './bus-delivery-error';
import type { SubscriptionQueue } from './create-subscription-queue';
import type { BusResetMessage } from './event-bus';
import { createHistoryReadFailures, type HistoryReadFailures } from './history-read-failures';
import type { ReadRedisHistory, RedisHistoryPage } from './read-redis-history';
import type { RedisStreamMessage } from './redis-stream-message';

/** Where a tenant subscriber starts, once its live channel is attached. */
export type RedisTenantSubscriberStart =
  /** From the stream's current top: only events published from now on. */
  | { from: 'now' }
  /** After a cursor the client had: replay from history, or reset. */
  | { from: 'cursor'; cursor: string }
  /** From the first event of the tenant's current stream (a tenant seen for the first time). */
  | { from: 'stream-start' }
  /**
   * From a live message at `seq` of the stream `epoch`, the first this subscriber hears of the
   * tenant (an all-tenants subscription with classic pub/sub; receive its messages before the
   * start). They are applied at once, then history is read after them, quietly: nothing was
   * followed before, so a position history does not confirm (a stray write) is no reset, and
   * the subscriber goes on from the stream's top.
   */
  | { from: 'live'; epoch: string; seq: number };

/** The part of a subscription queue a tenant subscriber writes to. */
export type RedisTenantSubscriberSink = Pick<
  SubscriptionQueue,
  'open' | 'push' | 'cutOff' | 'markReady'
>;

/** Options of {@link createRedisTenantSubscriber}. */
export interface RedisTenantSubscriberOptions {
  tenantId: string;
  sink: RedisTenantSubscriberSink;
  /** The subscription's filter. */
  matches: (event: CallEvent) => boolean;
  /** Reads the tenant's history (injected, so the state machine is tested without Redis). */
  readHistory: ReadRedisHistory;
  /** Entries per history read: a shorter page means the end of history was reached. */
  batchSize: number;
  /** Where skipped messages and failed reads are reported. */
  report: (error: Error) => void;
  /**
   * The bus's failed history reads, reported once per incident across its subscriptions.
   * Default: this subscriber's own, on `report`.
   */
  readFailures?: HistoryReadFailures;
  /** Runs `retry` later, after a failed history read. Default: after 250 ms (unref'd timer). */
  scheduleRetry?: (retry: () => void) => void;
  /** Name the tenant on reset messages (a part of an all-tenants subscription). */
  labelResets?: boolean;
}

/** One subscription's position in one tenant's stream on Redis. */
export interface RedisTenantSubscriber {
  /** Starts from `start`; call once live messages of the tenant are attached. */
  start(start: RedisTenantSubscriberStart): void;
  /** A live message of the tenant, in the order pub/sub delivered it. */
  receive(message: RedisStreamMessage): void;
  /** Live delivery was interrupted and is attached again: fetch what was missed. */
  catchUp(): void;
  /**
   * Started, with no history read in flight or waiting to be retried: its position is all it
   * holds, so dropping it and starting again from a later message loses nothing.
   */
  readonly settled: boolean;
}

/**
 * Live messages held while history is read or a failed read waits: later ones are dropped and
 * read from history instead (it holds them; a catch-up follows), so memory stays bounded.
 */
const maxHeldMessages = 1000;

const defaultRetry = (retry: () => void): void => {
  setTimeout(retry, 250).unref?.();
};

/**
 * The sequence / gap / epoch state machine of one subscription to one tenant's Redis stream.
 *
 * Live messages carry `<epoch>:<seq>.<verifier>` and sequence numbers are dense, so the
 * subscriber knows exactly what it is missing. The next message in sequence is delivered at
 * once; anything else (a jump, another epoch, a message it cannot read) starts a catch-up from
 * history, which is the source of truth; live messages arriving meanwhile wait and are applied
 * after it. Resets are all or nothing and emitted once per incident:
 * - the stream is another epoch (Redis lost its data): `stream-reset`, then the new stream is
 *   replayed from its start when history still holds all of it;
 * - the stream went back or was rewritten in the same epoch (a failover lost the last writes, a
 *   restore from an older snapshot; a cursor's verifier names its entry, so this holds for a
 *   subscription from a cursor too): `stream-reset`, then on from the top;
 * - the events after the position have left history: `history-gap`, then on from the top.
 *
 * Every event is handled in isolation: one that cannot be read or filtered is skipped and
 * reported; a delivery that throws ends this subscription with `lagged` (resume from its cursor).
 */
export function createRedisTenantSubscriber(
  options: RedisTenantSubscriberOptions,
): RedisTenantSubscriber {
  return new TenantStreamSubscriber(options);
}

/**
 * A class with its methods on the prototype: servers hold one per connected client per tenant.
 */
class TenantStreamSubscriber implements RedisTenantSubscriber {
  /** The stream incarnation followed; null when following whatever stream comes, from its start. */
  #epoch: string | null = null;
  /** Sequence number of the last event handled (delivered, filtered out or skipped). */
  #lastSeq = 0;
  /**
   * The cursor verifier of the entry at `#lastSeq`, when known: history checks it is still
   * that entry, so a stream that went back and was written again (a restore from an older
   * snapshot, a failover) is noticed, also for a subscription that starts from a cursor.
   */
  #lastVerifier: string | undefined;
  /** A history read is in flight (or the start is pending): live messages wait in `#pending`. */
  #syncing = true;
  #pending: RedisStreamMessage[] = [];
  #resyncRequested = false;
  #started = false;
  /** The first sync of a `live` start: it announces no reset (there was no position to lose). */
  #quiet = false;
  /** A failed history read is to be tried again. */
  #retrying = false;
  readonly #options: RedisTenantSubscriberOptions;
  readonly #readFailures: HistoryReadFailures;

  constructor(options: RedisTenantSubscriberOptions) {
    this.#options = options;
    this.#readFailures = options.readFailures ?? createHistoryReadFailures(options.report);
  }

  start(start: RedisTenantSubscriberStart): void {
    if (this.#started) return;
    this.#started = true;
    this.#syncing = false;
    if (start.from === 'now') {
      this.#startSync('position');
      return;
    }
    if (start.from === 'stream-start') {
      this.#startSync('catch-up');
      return;
    }
    if (start.from === 'live') {
      this.#epoch = start.epoch;
      this.#lastSeq = Math.max(0, start.seq - 1);
      this.#lastVerifier = undefined;
      this.#quiet = true;
      // Delivered at once; the read after them confirms the position (and reads what could not
      // be read), so a stray first message cannot leave the subscriber past the real stream.
      const pending = this.#pending;
      this.#pending = [];
      for (const message of pending) this.#apply(message);
      if (!this.#syncing) this.#startSync('catch-up');
      return;
    }
    const position = parseBusCursor(start.cursor);
    if (position) {
      this.#epoch = position.epoch;
      this.#lastSeq = position.seq;
      this.#lastVerifier = position.verifier;
      this.#startSync('catch-up');
    } else {
      this.#reset('stream-reset');
      this.#startSync('position');
    }
  }

  receive(message: RedisStreamMessage): void {
    // While a failed read waits to be tried again, messages wait too: applying one with a jump
    // would start a read per message, ahead of the retry's backoff.
    if (this.#syncing || this.#retrying) this.#hold(message);
    else this.#apply(message);
  }

  #hold(message: RedisStreamMessage): void {
    if (this.#pending.length < maxHeldMessages) {
      this.#pending.push(message);
      return;
    }
    // History has it (or a reset says it is gone): read once the current read is done.
    this.#resyncRequested = true;
  }

  catchUp(): void {
    if (this.#started) this.#startSync('catch-up');
  }

  get settled(): boolean {
    return this.#started && !this.#syncing && !this.#retrying && this.#pending.length === 0;
  }

  /** Applies a live message in order; anything but the next one starts a catch-up. */
  #apply(message: RedisStreamMessage): void {
    if (this.#epoch === null) {
      // Following from the start of whatever stream comes: this one.
      this.#epoch = message.epoch;
      this.#lastSeq = 0;
      this.#lastVerifier = undefined;
    } else if (message.epoch !== this.#epoch) {
      // Another stream: history says whether it is real (and replays it). The message itself is
      // not kept: it was published before the read, so history has it if it is real.
      this.#startSync('catch-up');
      return;
    }
    if (message.seq <= this.#lastSeq) {
      if (
        message.seq === this.#lastSeq &&
        this.#lastVerifier !== undefined &&
        message.verifier !== undefined &&
        message.verifier !== this.#lastVerifier
      ) {
        // Another entry at the position we are at: the stream was rewritten. History decides.
        this.#startSync('catch-up');
      }
      return;
    }
    if (message.event === undefined) {
      // A message we cannot read (reported by the connection): take it from history instead.
      this.#startSync('catch-up');
      return;
    }
    if (message.seq === this.#lastSeq + 1) {
      this.#handle(message, false);
      return;
    }
    this.#hold(message);
    this.#startSync('catch-up');
  }

  #startSync(mode: 'position' | 'catch-up'): void {
    if (!this.#options.sink.open) return;
    if (this.#syncing || this.#retrying) {
      this.#resyncRequested = true;
      return;
    }
    this.#syncing = true;
    void this.#runSync(mode);
  }

  async #runSync(mode: 'position' | 'catch-up'): Promise<void> {
    const { sink } = this.#options;
    // Messages already waiting were published before the read below: history holds them if
    // they are real, so one of them beyond the top it reports is not (a stray write).
    const arrivedBeforeRead = this.#pending.length;
    let firstPage: RedisHistoryPage | undefined;
    try {
      firstPage = mode === 'position' ? await this.#position() : await this.#catchUpFromHistory();
    } catch (error) {
      this.#syncing = false;
      if (!sink.open) {
        this.#readFailures.ended(this);
        return;
      }
      // Reported once per incident, not per retry (see HistoryReadFailures).
      this.#readFailures.failed(this, this.#options.tenantId, toError(error));
      // Redis is unreachable for now: try again later (a reconnect also starts a catch-up).
      this.#retrying = true;
      (this.#options.scheduleRetry ?? defaultRetry)(() => {
        this.#retrying = false;
        if (!sink.open) this.#readFailures.ended(this);
        else this.#startSync(mode);
      });
      return;
    }
    this.#readFailures.succeeded(this, this.#options.tenantId);
    this.#syncing = false;
    this.#quiet = false;
    if (!sink.open) return;
    sink.markReady();
    const pending = this.#pending;
    this.#pending = [];
    pending.forEach((message, index) => {
      if (
        index < arrivedBeforeRead &&
        firstPage !== undefined &&
        message.epoch === firstPage.epoch &&
        message.seq > firstPage.top
      ) {
        this.#skip(message, new Error('a live message beyond the top of history'));
        return;
      }
      this.receive(message);
    });
    if (this.#resyncRequested && !this.#syncing) {
      this.#resyncRequested = false;
      this.#startSync('catch-up');
    }
  }

  /** Learns where the stream is; a new live subscription starts there. */
  async #position(): Promise<RedisHistoryPage> {
    const page = await this.#options.readHistory(null, undefined);
    this.#epoch = page.epoch;
    this.#lastSeq = page.top;
    this.#lastVerifier = page.topVerifier;
    return page;
  }

  /** Delivers everything after the position from history, or resets. */
  async #catchUpFromHistory(): Promise<RedisHistoryPage> {
    const { readHistory, sink, batchSize } = this.#options;
    let firstPage: RedisHistoryPage | undefined;
    const quiet = this.#quiet;
    let announced = quiet;
    for (;;) {
      const known = this.#epoch;
      const page = await readHistory(
        this.#lastSeq,
        known === null || this.#lastSeq === 0 ? undefined : this.#lastVerifier,
      );
      firstPage ??= page;
      if (!sink.open) return firstPage;
      if (page.epoch === null) {
        // No stream at all now: the one followed was lost and nothing was published since. Even
        // at seq 0 (a position taken before the tenant's first event) the lost stream may have
        // had events after it, so the subscriber is told to reload.
        if (known !== null && !announced) this.#reset('stream-reset');
        this.#epoch = null;
        this.#lastSeq = 0;
        this.#lastVerifier = undefined;
        return firstPage;
      }
      if (quiet && known !== null && page.epoch !== known) {
        // The live message that made us start was of no stream history knows: from the top, or
        // from the first real event heard meanwhile.
        this.#epoch = page.epoch;
        if (this.#readFromPendingHeldBy(page)) continue;
        this.#lastSeq = page.top;
        this.#lastVerifier = page.topVerifier;
        return firstPage;
      }
      if (known !== null && page.epoch !== known) {
        // The stream was lost and a new one started (Redis restarted empty): say so once, then
        // replay the new stream from its start, so nothing it still holds is skipped.
        if (!announced) this.#reset('stream-reset');
        announced = true;
        this.#epoch = page.epoch;
        this.#lastSeq = 0;
        this.#lastVerifier = undefined;
        continue;
      }
      this.#epoch = page.epoch;
      if (page.status === 'diverged' || this.#lastSeq > page.top) {
        // Same epoch, other history (a failover lost the last writes, a restore from an older
        // snapshot): positions past the common part mean other events now, so go on from the
        // top. Quiet (a stray first message), real events heard meanwhile are read first.
        if (quiet && this.#readFromPendingHeldBy(page)) continue;
        if (!announced) this.#reset('stream-reset');
        this.#lastSeq = page.top;
        this.#lastVerifier = page.topVerifier;
        return firstPage;
      }
      if (page.status === 'gap') {
        // Quiet (a stray first message below the window), real events heard meanwhile are read
        // first; only from a later position than this one, so one that has left history as
        // well cannot bring the read back here.
        if (quiet && this.#readFromPendingHeldBy(page, this.#lastSeq)) continue;
        if (!announced) this.#reset('history-gap');
        this.#lastSeq = page.top;
        this.#lastVerifier = page.topVerifier;
        return firstPage;
      }
      for (const entry of page.entries) this.#handle(entry, true);
      if (page.entries.length < batchSize || !sink.open) return firstPage;
    }
  }

  /**
   * After a first live message history does not confirm: live messages waiting meanwhile that
   * `page` holds (its stream, at most its top) are real, and would be dropped as behind a jump to
   * the top. Moves the position to just before the first of them, so history delivers them, once.
   * With `above`, only to a position past it (each move goes forward, so reads end).
   */
  #readFromPendingHeldBy(page: RedisHistoryPage, above = Number.NEGATIVE_INFINITY): boolean {
    let first: number | undefined;
    for (const message of this.#pending) {
      if (message.epoch === page.epoch && message.seq <= page.top && message.seq - 1 > above) {
        first = Math.min(first ?? message.seq, message.seq);
      }
    }
    if (first === undefined) return false;
    this.#lastSeq = first - 1;
    this.#lastVerifier = undefined;
    return true;
  }

  /** Handles the next event in sequence: skip, filter, deliver; the position always advances. */
  #handle(message: RedisStreamMessage, fromHistory: boolean): void {
    this.#lastSeq = message.seq;
    this.#lastVerifier = message.verifier;
    const { event } = message;
    if (event === undefined) {
      this.#skip(message, message.error ?? new Error('unreadable'));
      return;
    }
    const { matches, sink, report, tenantId } = this.#options;
    let wanted: boolean;
    try {
      wanted = matches(event);
    } catch (error) {
      report(
        new BusDeliveryError({
          reason: 'filter',
          message: `The subscription's filter failed on event ${event.id} (${message.cursor}); skipped.`,
          tenantId,
          cursor: message.cursor,
          cause: error,
        }),
      );
      return;
    }
    if (!wanted) return;
    try {
      sink.push({ type: 'event', cursor: message.cursor, event }, fromHistory);
    } catch (error) {
      report(
        new BusDeliveryError({
          reason: 'subscriber',
          message: `Delivering event ${event.id} (${message.cursor}) failed; the subscription is ended.`,
          tenantId,
          cursor: message.cursor,
          cause: error,
        }),
      );
      try {
        sink.cutOff();
      } catch {
        // It is broken beyond ending it; nothing else depends on it.
      }
    }
  }

  #skip(message: RedisStreamMessage, cause: Error): void {
    this.#options.report(
      new BusDeliveryError({
        reason: 'unreadable',
        message: `Skipped message ${message.cursor} of tenant ${this.#options.tenantId}: ${cause.message}.`,
        tenantId: this.#options.tenantId,
        cursor: message.cursor,
        cause,
      }),
    );
  }

  #reset(reason: BusResetMessage['reason']): void {
    const { sink, labelResets, tenantId } = this.#options;
    const message: BusResetMessage = labelResets
      ? { type: 'reset', recovered: false, reason, tenantId }
      : { type: 'reset', recovered: false, reason };
    try {
      sink.push(message);
    } catch (error) {
      this.#options.report(toError(error));
    }
  }
}

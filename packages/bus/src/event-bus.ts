import type { CallEvent, EventSink } from '@calltrack/core';
import type { BusDeliveryError } from './bus-delivery-error';

/** What {@link EventBus.publish} reports. */
export interface BusPublishResult {
  /**
   * Position of the event in its tenant's stream: opaque, monotonic per tenant. For a duplicate,
   * the cursor the event got when it was first published.
   */
  cursor: string;
  /** True when an event with the same `id` is still in history and this one was dropped. */
  duplicate: boolean;
}

/** Which events a subscription receives. */
export interface BusSubscribeOptions {
  /** The tenant whose events to receive. Required unless `allTenants` is true. */
  tenantId?: string;
  /** Receive every tenant's events (super-admin views). Must be explicit. */
  allTenants?: boolean;
  /** Only events of this call. */
  callId?: string;
  /**
   * Only these event types; an entry ending in `.*` matches a prefix (`call.*`). Empty: every
   * type.
   */
  types?: readonly string[];
  /**
   * Resume: deliver every event of the tenant after this cursor (from history), then live events,
   * with no gap and no duplicate at the seam. When the gap has left history, a `reset` message
   * comes first. Needs `tenantId`.
   */
  after?: string;
  /** Ends the subscription when aborted. */
  signal?: AbortSignal;
}

/** An event, with its cursor. */
export interface BusEventMessage {
  type: 'event';
  cursor: string;
  event: CallEvent;
}

/**
 * Events were missed and cannot be replayed: the subscriber must reload its state (for example
 * the active calls) and carry on with the live events that follow.
 * - `history-gap`: the events after the cursor have left history (size or age limit);
 * - `stream-reset`: the cursor belongs to a stream that no longer exists (a restarted memory bus,
 *   a Redis that lost its data) or is not a cursor at all;
 * - `reconnected`: an all-tenants subscription lost its connection for a while.
 */
export interface BusResetMessage {
  type: 'reset';
  recovered: false;
  reason: 'history-gap' | 'stream-reset' | 'reconnected';
  /**
   * On an all-tenants subscription that follows each tenant's stream (the Redis bus with
   * sharded pub/sub): the tenant whose events were missed. Absent otherwise.
   */
  tenantId?: string;
}

/**
 * The subscriber read too slowly and its buffer filled up: this is the last message, and the
 * subscription has ended. Subscribe again with `after: cursor` to continue from history (an
 * all-tenants subscription keeps a cursor per tenant: see the README on `lagged`).
 */
export interface BusLaggedMessage {
  type: 'lagged';
  /** The cursor of the last event delivered, or the `after` the subscription started from. */
  cursor: string | undefined;
}

/** What a subscription yields. */
export type BusMessage = BusEventMessage | BusResetMessage | BusLaggedMessage;

/** A live subscription: iterate it with `for await`; `return()` or `close()` ends it. */
export interface BusSubscription extends AsyncIterableIterator<BusMessage> {
  /** Resolves once live delivery is attached and any replay from history is queued. */
  readonly ready: Promise<void>;
  /** Ends the subscription; a pending `next()` resolves as done. */
  close(): Promise<void>;
}

/** The event bus every transport reads from and every producer publishes to. */
export interface EventBus extends EventSink {
  /**
   * Validates and publishes an event. Idempotent by `event.id` while the first copy is in
   * history. Rejects with `InvalidEventError` for an invalid event and `BusUnavailableError`
   * when the backend cannot be reached.
   */
  publish(event: CallEvent): Promise<BusPublishResult>;
  /** Subscribes to one tenant's events (or, explicitly, to all tenants'). */
  subscribe(options: BusSubscribeOptions): BusSubscription;
  /**
   * Where the tenant's stream is now: the cursor of its newest event, or of the start of its
   * stream when it has none yet (the stream is made then). Subscribing `after` it later delivers
   * everything published from now on, or a `reset` when that has left history meanwhile. For a
   * reader that must not miss what comes before it first reads (the webhook dispatcher, for a
   * tenant's first endpoint). Optional: buses of your own may leave it out.
   */
  position?(tenantId: string): Promise<string>;
  /** Ends every subscription and releases what the bus opened. */
  close(): Promise<void>;
}

/** Limits shared by every backend. */
export interface BusOptions {
  /** History kept per tenant, for de-duplication and resume. */
  history?: {
    /** Most events kept per tenant. Default 1,000. */
    maxEvents?: number;
    /** Oldest event kept, in milliseconds. Default one hour. */
    maxAgeMs?: number;
    /**
     * Most bytes of event JSON (UTF-8) kept per tenant: the oldest events leave first, the newest
     * always stays, however large. A cursor behind what is left reads as a `history-gap`, as
     * with the other two limits. Default 16 MiB on Redis; the memory bus counts bytes only when
     * this is set (its events are not written as JSON otherwise, and it holds one process's)
     * (decision 0075).
     */
    maxBytes?: number;
  };
  /**
   * Most messages buffered for a subscriber that reads slower than events arrive. When it is
   * exceeded the subscriber gets a final `lagged` message. Default 1,000.
   */
  maxBufferedMessages?: number;
  /**
   * Failures the bus recovers from by itself, reported for logging: a message that could not be
   * delivered ({@link BusDeliveryError}: skipped, and the subscriber goes on with the next one),
   * and on Redis a lost subscriber connection or a failed history read. Default: ignored. One
   * that throws is ignored too: the bus goes on as if it had returned.
   */
  onError?: (error: Error) => void;
}

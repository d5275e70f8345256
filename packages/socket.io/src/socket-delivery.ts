import type { BusEventMessage, BusResetMessage, BusSubscription, EventBus } from '@calltrack/bus';
import type { Socket } from 'socket.io';
import type {
  ActiveCallsPayload,
  CallTrackDelivery,
  CallTrackResetReason,
} from './call-track-protocol';
import { callRoom } from './call-track-rooms';
import type { CallTrackerReader } from './call-tracker-reader';
import type { ChannelListener, TenantChannel } from './create-tenant-channel';
import type { TypeMatcher } from './create-type-matcher';
import { lifecycleEventName } from './lifecycle-event-name';

/** What every connection of one `attachCallTrack` shares. */
export interface DeliveryContext {
  bus: EventBus;
  tracker: CallTrackerReader | undefined;
  /** Most events held for a connection that is catching up before it is told to reload. */
  maxPendingEvents: number;
}

/** A connection not in the live rooms: a replay or a snapshot is on its way. */
interface Buffering {
  /** `replay`: a bus subscription of its own feeds the connection; `snapshot`: a snapshot loads. */
  mode: 'replay' | 'snapshot';
  subscription?: BusSubscription;
  /** The cursor the replay started after. */
  after?: string;
  /** Events the channel emitted to the rooms while the connection was not in them, in order. */
  pending: BusEventMessage[];
  /** Cursor → its index in `pending`. */
  pendingIndex: Map<string, number>;
  /** Cursors the replay delivered. */
  seen: Set<string>;
  /** The last cursor the replay delivered. */
  last?: string;
  /** The replay is ahead of the channel: join the rooms once the channel emits this cursor. */
  joinAt?: string;
}

/**
 * What one connection receives, and how it gets there. A connection is either *live* (in the
 * rooms matching its subscriptions, fed by the tenant's shared subscription) or *buffering* (in
 * none of them: a replay or a snapshot is on its way, and the channel's events wait in
 * `pending`).
 *
 * The seam between a replay and the live rooms is exact, using nothing but cursor equality:
 * - the replay delivers cursor `c` and `c` is in `pending` (the channel emitted it while the
 *   connection was away): deliver what follows `c` in `pending`, join the rooms;
 * - the replay delivers `c` and `c` is the last cursor the channel emitted: join the rooms;
 * - the channel emits `c` that the replay already delivered: the replay is ahead; stop it and
 *   join the rooms right after the channel emits the replay's last cursor.
 *
 * Every step runs synchronously between two events, so nothing falls between the two sources.
 * A class (methods on the prototype, state allocated lazily) keeps an idle connection cheap.
 */
export class SocketDelivery implements ChannelListener {
  private stream: TypeMatcher | undefined;
  private calls: Set<string> | undefined;
  private buffer: Buffering | undefined;
  private generation = 0;
  private closed = false;

  constructor(
    private readonly context: DeliveryContext,
    readonly socket: Socket,
    readonly channel: TenantChannel,
  ) {}

  /**
   * Starts (or restarts) the call stream. With `after`, replays what followed that cursor and
   * then joins the live rooms at the exact seam; without, sends `active_calls` (with a tracker)
   * and streams every later event. Resolves once the stream is set up.
   */
  async subscribeToCalls(after: string | undefined, matcher: TypeMatcher): Promise<void> {
    this.generation += 1;
    const generation = this.generation;
    const { bus, tracker } = this.context;
    const { tenantId } = this.channel;
    if (after !== undefined) {
      const buffering = this.startBuffering('replay');
      this.stream = matcher;
      buffering.after = after;
      const subscription = bus.subscribe({ tenantId, after });
      buffering.subscription = subscription;
      this.replay(buffering, subscription).catch(() => this.reset(buffering, 'stream-reset'));
      await subscription.ready;
      return;
    }
    await this.channel.ready;
    if (generation !== this.generation || this.closed) return;
    if (!tracker) {
      this.leave();
      this.stream = matcher;
      this.joinRooms();
      return;
    }
    const buffering = this.startBuffering('snapshot');
    this.stream = matcher;
    const position = this.channel.lastEmitted;
    let snapshot: ActiveCallsPayload;
    try {
      const calls = await tracker.listActiveCalls(tenantId);
      snapshot = position === undefined ? { calls } : { calls, cursor: position };
    } catch (error) {
      if (this.buffer === buffering) {
        this.stream = undefined;
        for (const message of buffering.pending) this.send(message);
        this.goLive(buffering);
      }
      throw error;
    }
    if (this.buffer !== buffering) return;
    this.socket.emit('active_calls', snapshot);
    for (const message of buffering.pending) this.send(message);
    this.goLive(buffering);
  }

  /** Stops the call stream (call subscriptions stay). */
  unsubscribeFromCalls(): void {
    this.generation += 1;
    this.leave();
    this.stream = undefined;
    this.joinRooms();
  }

  /** Adds a call subscription; false when the connection already has `limit`. */
  addCall(callId: string, limit: number): boolean {
    this.calls ??= new Set();
    if (this.calls.has(callId)) return true;
    if (this.calls.size >= limit) return false;
    this.calls.add(callId);
    if (!this.buffer) this.socket.join(callRoom(this.channel.tenantId, callId));
    return true;
  }

  /** Removes a call subscription. */
  removeCall(callId: string): void {
    if (!this.calls?.delete(callId)) return;
    if (!this.buffer) this.socket.leave(callRoom(this.channel.tenantId, callId));
  }

  /** Leaves every room calltrack's subscriptions put the connection in and ends any replay. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    this.leave();
    this.stream = undefined;
    this.calls = undefined;
  }

  /** @internal The channel emitted an event to the rooms (only while buffering). */
  onLive(message: BusEventMessage): void {
    const buffering = this.buffer;
    if (!buffering) return;
    const { cursor } = message;
    if (buffering.joinAt !== undefined) {
      if (buffering.joinAt === cursor) this.goLive(buffering);
      return;
    }
    if (buffering.mode === 'replay' && buffering.seen.has(cursor)) {
      if (buffering.last === cursor) {
        this.goLive(buffering);
      } else {
        // The replay is ahead of the channel: it already delivered up to `last`.
        buffering.joinAt = buffering.last;
        this.stop(buffering);
      }
      return;
    }
    buffering.pendingIndex.set(cursor, buffering.pending.length);
    buffering.pending.push(message);
    if (buffering.pending.length > this.context.maxPendingEvents) this.reset(buffering, 'lagged');
  }

  /** @internal The channel's own subscription lost events. */
  onReset(reason: BusResetMessage['reason']): void {
    // A snapshot's pending events have a hole now; a replay has its own continuity.
    if (this.buffer?.mode === 'snapshot') this.reset(this.buffer, reason);
  }

  private wants(message: BusEventMessage): boolean {
    const { event } = message;
    if (this.stream?.matches(event.type)) return true;
    return event.callId !== undefined && this.calls?.has(event.callId) === true;
  }

  private send(message: BusEventMessage): void {
    if (!this.wants(message)) return;
    const delivery: CallTrackDelivery = { cursor: message.cursor, event: message.event };
    this.socket.emit('call_update', delivery);
    const lifecycle = lifecycleEventName(message.event);
    if (lifecycle !== undefined) this.socket.emit(lifecycle, delivery);
  }

  private joinRooms(): void {
    if (this.closed) return;
    if (this.stream) this.channel.joinStream(this.socket, this.stream);
    for (const callId of this.calls ?? []) {
      this.socket.join(callRoom(this.channel.tenantId, callId));
    }
  }

  /** Leaves the live rooms, or abandons the buffering in progress. */
  private leave(): void {
    const buffering = this.buffer;
    if (buffering) {
      this.stop(buffering);
      this.buffer = undefined;
      this.channel.listeners.delete(this);
      return;
    }
    if (this.stream) this.channel.leaveStream(this.socket, this.stream);
    for (const callId of this.calls ?? []) {
      this.socket.leave(callRoom(this.channel.tenantId, callId));
    }
  }

  private stop(buffering: Buffering): void {
    void buffering.subscription?.close();
    buffering.subscription = undefined;
  }

  /** Leaves the live rooms (or abandons the current buffering) and starts buffering. */
  private startBuffering(mode: Buffering['mode']): Buffering {
    this.leave();
    const buffering: Buffering = { mode, pending: [], pendingIndex: new Map(), seen: new Set() };
    this.buffer = buffering;
    this.channel.listeners.add(this);
    return buffering;
  }

  /** Ends buffering and joins the live rooms: from here the channel delivers. */
  private goLive(buffering: Buffering): void {
    if (this.buffer !== buffering) return;
    this.stop(buffering);
    this.buffer = undefined;
    this.channel.listeners.delete(this);
    this.joinRooms();
  }

  /** Events are lost for this connection: tell it to reload, keep only its call subscriptions. */
  private reset(buffering: Buffering, reason: CallTrackResetReason): void {
    if (this.buffer !== buffering) return;
    this.stream = undefined;
    this.socket.emit('reset', { reason });
    this.goLive(buffering);
  }

  private async replay(buffering: Buffering, first: BusSubscription): Promise<void> {
    const { tenantId } = this.channel;
    let subscription = first;
    for (;;) {
      let lagged: { cursor: string | undefined } | undefined;
      for await (const message of subscription) {
        if (this.buffer !== buffering || buffering.joinAt !== undefined) return;
        if (message.type === 'reset') {
          this.reset(buffering, message.reason);
          return;
        }
        if (message.type === 'lagged') {
          lagged = { cursor: message.cursor };
          break;
        }
        this.send(message);
        buffering.seen.add(message.cursor);
        buffering.last = message.cursor;
        const index = buffering.pendingIndex.get(message.cursor);
        if (index !== undefined) {
          for (const next of buffering.pending.slice(index + 1)) this.send(next);
          this.goLive(buffering);
          return;
        }
        if (message.cursor === this.channel.lastEmitted) {
          this.goLive(buffering);
          return;
        }
        if (buffering.seen.size > this.context.maxPendingEvents) {
          this.reset(buffering, 'lagged');
          return;
        }
      }
      if (!lagged || this.buffer !== buffering) return;
      // The replay read too slowly from the bus: carry on from history where it stopped.
      const after = lagged.cursor ?? buffering.after;
      subscription = this.context.bus.subscribe(
        after === undefined ? { tenantId } : { tenantId, after },
      );
      buffering.subscription = subscription;
    }
  }
}

import type { BusEventMessage, BusSubscription, EventBus } from '@calltrack/bus';
import {
  type ActiveCallsReader,
  type ConnectionPresence,
  isEventForPrincipal,
  type Principal,
} from '@calltrack/core';
import {
  attachedWithin,
  listsMembersAcrossTenants,
  type PresenceMembersRead,
  readActiveCallsSnapshot,
  readPresenceMembers,
} from '@calltrack/core/internal';
import type { Socket } from 'socket.io';
import { BusSubscriptionLostError } from './bus-subscription-lost-error';
import type {
  ActiveCallsPayload,
  CallTrackAck,
  CallTrackDelivery,
  CallTrackResetReason,
  PresenceMembersPayload,
  PresenceUnavailablePayload,
  ResetPayload,
} from './call-track-protocol';
import type { CallTrackSocketErrorInfo, ReportError } from './call-track-socket-error-info';
import { isStartPosition } from './channel-start-position';
import type { CallChannel, ChannelListener } from './create-call-channel';
import type { TypeMatcher } from './create-type-matcher';
import { lifecycleEventName } from './lifecycle-event-name';
import type { SendBacklogLimit } from './send-backlog-limit';
import { skippedEventOf, UndeliverableEventError } from './undeliverable-event-error';

/** What every connection of one `attachCallTrack` shares. */
export interface DeliveryContext {
  bus: EventBus;
  tracker: ActiveCallsReader | undefined;
  /** Where `presence_members` come from, when presence is on. */
  presence: ConnectionPresence | undefined;
  /**
   * Most events held for a connection that is catching up: past it a replay is told to reload,
   * a snapshot is read again.
   */
  maxPendingEvents: number;
  /** Bounds what waits to be written to each connection; catch-ups go through it. */
  sendBacklog: SendBacklogLimit;
  /** Most call subscriptions per connection. */
  maxFollowedCalls: number;
  /** Most calls in an `active_calls` snapshot. */
  snapshotLimit: number;
  /** Most users in a `presence_members` snapshot. */
  presenceSnapshotLimit: number;
  /** The longest `subscribeToCalls` waits for a bus subscription (Redis down: for ever). */
  attachTimeoutMs: number;
  /** Where skipped events and lost subscriptions are reported. Must not throw. */
  onError: ReportError;
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
  /** Cursor → its index in `pending` (replays only: a snapshot's cursors may span tenants). */
  pendingIndex: Map<string, number>;
  /** Cursors the replay delivered. */
  seen: Set<string>;
  /** The last cursor the replay delivered. */
  last?: string;
  /** The replay is ahead of the channel: join the rooms once the channel emits this cursor. */
  joinAt?: string;
  /** A snapshot's position: `pending` holds exactly the events after it. */
  position?: string;
  /** How often a snapshot's queue overflowed and the snapshot moved past it. */
  moves: number;
}

/** Replays lost this many times in a row without delivering anything end in `reset`. */
const maxReplayAttempts = 3;

/**
 * What one connection receives, and how it gets there. A connection is either *live* (in the
 * rooms matching its subscriptions, fed by its channel's shared subscription) or *buffering* (in
 * none of them: a replay or a snapshot is on its way, and the channel's events wait in
 * `pending`).
 *
 * The seam between a replay and the live rooms is exact, using nothing but cursor equality:
 * - the replay delivers cursor `c` and `c` is in `pending` (the channel emitted it while the
 *   connection was away): deliver what follows `c` in `pending`, join the rooms;
 * - the replay delivers `c` and `c` is the channel's cursor (the last it emitted, or where it
 *   started): join the rooms;
 * - the channel emits `c` that the replay already delivered: the replay is ahead; stop it and
 *   join the rooms right after the channel emits the replay's last cursor.
 *
 * Every step runs synchronously between two events, so nothing falls between the two sources.
 * An event that cannot be sent is skipped and reported, the client gets `reset`
 * (`event-skipped`) in its place, and the connection goes on with the next.
 * A class (methods on the prototype, state allocated lazily) keeps an idle connection cheap.
 */
export class SocketDelivery implements ChannelListener {
  private stream: TypeMatcher | undefined;
  /** Call subscriptions, by the call's room (which names the call's tenant). */
  private calls: Set<string> | undefined;
  private buffer: Buffering | undefined;
  private generation = 0;
  private closed = false;
  /** Requests made by `subscribeToCall`, and each call's latest one whose read is under way. */
  private callRequestCount = 0;
  private callRequests: Map<string, number> | undefined;
  /** Settles when the snapshot read in progress (see `subscribeToCalls`) is done. */
  private reading: Promise<void> | undefined;
  /**
   * The replay whose bus subscription is being attached (its first history read is under way),
   * and what settles once it is attached or given up (see `resume`).
   */
  private replayStart: { subscription: BusSubscription; done: Promise<void> } | undefined;
  /**
   * Settles once presence has registered this connection (or refused it): a members snapshot
   * waits for it, so it holds the connection's own user.
   */
  registered: Promise<void> | undefined;

  constructor(
    private readonly context: DeliveryContext,
    readonly socket: Socket,
    readonly channel: CallChannel,
    readonly principal: Principal,
  ) {}

  /** What `onError` is told about a failure of this connection. */
  get errorInfo(): CallTrackSocketErrorInfo {
    return { socketId: this.socket.id, principal: this.principal };
  }

  /**
   * Starts (or restarts) the call stream (`stream`; undefined when only call subscriptions are
   * being resumed). With `after`, replays what followed that cursor and then joins the live
   * rooms at the exact seam; without, sends `active_calls` (with a tracker) and streams every
   * later event. Resolves once the stream is set up. Throws `BusUnavailableError` when the bus
   * subscription it needs is not attached within `attachTimeoutMs` (Redis down); the call stream
   * is then off (call subscriptions stay) and the channel keeps trying, so a later call streams.
   */
  async subscribeToCalls(
    after: string | undefined,
    stream: TypeMatcher | undefined,
  ): Promise<void> {
    // A closed connection has left its rooms and its channel for good.
    if (this.closed) return;
    this.generation += 1;
    const generation = this.generation;
    if (after !== undefined) {
      await this.resume(after, stream);
      return;
    }
    const { tracker, presence } = this.context;
    const { tenantId } = this.channel;
    try {
      await this.attached(this.channel.ready);
    } catch (error) {
      if (generation === this.generation && !this.closed) this.unsubscribeFromCalls();
      throw error;
    }
    if (generation !== this.generation || this.closed) return;
    // A stream that takes `presence.*` starts with the members: its tenant's, or every tenant's
    // for an all-tenants view (when presence can list them).
    const takesPresence = presence !== undefined && stream?.matches('presence.online') === true;
    const members =
      takesPresence && (tenantId !== undefined || listsMembersAcrossTenants(presence))
        ? presence
        : undefined;
    if (takesPresence && members === undefined) {
      // Said, so that a client neither waits for members nor holds diffs it cannot apply.
      const payload: PresenceUnavailablePayload = { reason: 'all-tenants' };
      this.socket.emit('presence_unavailable', payload);
    }
    if (!tracker && !members) {
      this.leave();
      this.stream = stream;
      this.joinRooms();
      return;
    }
    const buffering = this.startBuffering('snapshot');
    // Read in the same step that starts the queue: the queue holds exactly the events after it,
    // including any that arrive while the registration below is awaited.
    buffering.position = this.channel.position;
    this.stream = stream;
    if (members !== undefined && this.registered !== undefined) {
      await this.registered;
      if (this.buffer !== buffering) return;
    }
    const read = () =>
      Promise.all([
        tracker === undefined
          ? undefined
          : readActiveCallsSnapshot(tracker, tenantId, { limit: this.context.snapshotLimit }),
        members === undefined
          ? undefined
          : readPresenceMembers(members, tenantId, this.context.presenceSnapshotLimit),
      ]);
    try {
      let snapshot: Awaited<ReturnType<typeof read>>;
      let moves: number;
      do {
        // One read at a time: a client asking again and again without waiting for its answers
        // must not have a read of up to `snapshotLimit` calls running for each request. Only the
        // latest request reads once the one in progress is done.
        while (this.reading !== undefined) {
          await this.reading;
          if (this.buffer !== buffering) return;
        }
        moves = buffering.moves;
        const reading = read();
        const settled = reading.then(
          () => {},
          () => {},
        );
        this.reading = settled;
        try {
          snapshot = await reading;
        } finally {
          if (this.reading === settled) this.reading = undefined;
        }
        if (this.buffer !== buffering) return;
        // The snapshot moved while it was read (see `moveSnapshot`): this read may miss events up
        // to the new position, one that starts now has them all.
      } while (buffering.moves !== moves);
      const [active, users] = snapshot;
      const { position } = buffering;
      const at = position === undefined ? {} : { cursor: position };
      if (active !== undefined) {
        const snapshot: ActiveCallsPayload = { ...active, ...at };
        this.socket.emit('active_calls', snapshot);
      }
      if (users !== undefined) this.sendMembers(users, position);
    } catch (error) {
      if (this.buffer === buffering) {
        // No snapshot, no stream; the call subscriptions still get what they missed.
        this.stream = undefined;
        this.flushSnapshotQueue(buffering);
      }
      throw error;
    }
    this.flushSnapshotQueue(buffering);
  }

  /**
   * Sends what queued while a snapshot loaded, then joins the live rooms. Past
   * `maxBufferedBytes` of it waiting for the client (all of it is queued in this one turn), the
   * rest is not sent: the client gets `reset` (`lagged`), as after a replay, and reloads. That
   * is no loop: the queue goes with the reset, and the next snapshot's queue holds only what
   * arrives while it loads; `active_calls` itself does not count.
   */
  private flushSnapshotQueue(buffering: Buffering): void {
    let behind = false;
    for (const message of buffering.pending) {
      // The connection closed or started over while this was sent.
      if (this.buffer !== buffering) return;
      if (behind) {
        this.reset(buffering, 'lagged');
        return;
      }
      behind = this.send(message);
    }
    this.goLive(buffering);
  }

  private sendMembers(
    { members, complete }: PresenceMembersRead,
    position: string | undefined,
  ): void {
    const payload: PresenceMembersPayload =
      position === undefined ? { members, complete } : { members, complete, cursor: position };
    this.socket.emit('presence_members', payload);
  }

  /** Stops the call stream (call subscriptions stay). */
  unsubscribeFromCalls(): void {
    this.generation += 1;
    this.leave();
    this.stream = undefined;
    this.joinRooms();
  }

  /**
   * The tenant a call subscription names: the principal's own, or for an all-tenants principal
   * the one asked for. Undefined when a tenant principal names another tenant.
   */
  callTenant(requested: string | undefined): string | undefined {
    const own = this.principal.tenantId;
    if (requested === undefined || requested === own) return own;
    return this.channel.tenantId === undefined ? requested : undefined;
  }

  /**
   * Subscribes to one call: joins its room, then (with a tracker) reads the call and sends it as
   * `call_data`. Subscribing first means an event in between arrives before `call_data`, and the
   * call (read later) already includes it; `version` orders the two.
   */
  async subscribeToCall(tenantId: string, callId: string): Promise<CallTrackAck> {
    const { tracker, maxFollowedCalls } = this.context;
    // The connection closed while an earlier step awaited (a restore reading the calls before
    // this one): nothing to read or join, and nobody to answer.
    if (this.closed) return { ok: true };
    // Asked again for a call it follows (a retry, a handshake listing it twice): a failed read
    // answers this request only, and must not end the subscription an earlier one set up.
    const room = this.channel.callRoom(tenantId, callId);
    const followed = this.calls?.has(room) === true;
    if (!this.addCall(tenantId, callId)) {
      return {
        ok: false,
        error: {
          code: 'too_many_subscriptions',
          message: `At most ${maxFollowedCalls} call subscriptions per connection`,
        },
      };
    }
    if (!tracker) return { ok: true };
    // The latest request for each call whose read is under way: one asked for again meanwhile
    // was (or will be) answered that the call is followed, which an earlier failure must not undo.
    this.callRequestCount += 1;
    const ticket = this.callRequestCount;
    this.callRequests ??= new Map();
    this.callRequests.set(room, ticket);
    let call: Awaited<ReturnType<ActiveCallsReader['getCall']>>;
    try {
      call = await tracker.getCall(tenantId, callId);
    } catch (error) {
      if (this.settleCallRequest(room, ticket) && !followed) this.removeCall(tenantId, callId);
      throw error;
    }
    this.settleCallRequest(room, ticket);
    if (!call) {
      this.removeCall(tenantId, callId);
      return { ok: false, error: { code: 'not_found', message: `Call ${callId} not found` } };
    }
    if (this.closed) return { ok: true };
    this.socket.emit('call_data', { call });
    return { ok: true };
  }

  /** Ends the read of request `ticket` for `room`; true when no later request came meanwhile. */
  private settleCallRequest(room: string, ticket: number): boolean {
    if (this.callRequests?.get(room) !== ticket) return false;
    this.callRequests.delete(room);
    return true;
  }

  /**
   * Adds a call subscription; false when the connection already has the most allowed. A closed
   * connection adds nothing.
   */
  addCall(tenantId: string, callId: string): boolean {
    // A closed connection left its rooms for good: joining one now would be counted forever.
    if (this.closed) return true;
    const room = this.channel.callRoom(tenantId, callId);
    this.calls ??= new Set();
    if (this.calls.has(room)) return true;
    if (this.calls.size >= this.context.maxFollowedCalls) return false;
    this.calls.add(room);
    if (!this.buffer) this.channel.joinCall(this.socket, room);
    return true;
  }

  /** Removes a call subscription. */
  removeCall(tenantId: string, callId: string): void {
    const room = this.channel.callRoom(tenantId, callId);
    if (!this.calls?.delete(room)) return;
    if (!this.buffer) this.channel.leaveCall(this.socket, room);
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
    if (buffering.mode === 'replay') {
      if (buffering.seen.has(cursor)) {
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
    }
    buffering.pending.push(message);
    if (buffering.pending.length <= this.context.maxPendingEvents) return;
    if (buffering.mode === 'snapshot') this.moveSnapshot(buffering);
    else this.reset(buffering, 'lagged');
  }

  /**
   * A loading snapshot's queue outgrew `maxPendingEvents`. A `reset` would only make the client
   * ask for another snapshot, which a busy tenant overflows the same way. Instead the snapshot
   * moves to the channel's position and is read again: a snapshot read after that position
   * supersedes the queued events, which are dropped. The connection's call subscriptions get
   * theirs now (no snapshot replaces them, and they come before the new position), bounded as
   * the queue sent after a snapshot is: once more than `maxBufferedBytes` of them waits for the
   * client, the next one meant for it gives way to `reset` (`lagged`), which ends this snapshot
   * too: the client reloads its calls and its stream. Holding the rest would keep up to
   * `maxPendingEvents` events per move in memory. The reload lags again only if more than
   * `maxBufferedBytes` of the watched calls' events arrive during its read as well.
   */
  private moveSnapshot(buffering: Buffering): void {
    const queued = buffering.pending;
    buffering.pending = [];
    buffering.position = this.channel.position;
    buffering.moves += 1;
    if (this.calls === undefined || this.calls.size === 0) return;
    let behind = false;
    for (const message of queued) {
      // The connection closed or started over while this was sent.
      if (this.buffer !== buffering) return;
      if (!behind) {
        behind = this.send(message, true);
      } else if (this.mayWant(message, true)) {
        this.reset(buffering, 'lagged');
        return;
      }
    }
  }

  /** @internal The channel lost events and told its rooms to reload. */
  onReset(reason: CallTrackResetReason): void {
    const buffering = this.buffer;
    if (!buffering) return;
    // A snapshot's pending events have a hole now: reload too.
    if (buffering.mode === 'snapshot') {
      this.reset(buffering, reason);
      return;
    }
    // A replay has its own continuity, unless it stopped to wait for the channel, which may now
    // never emit the cursor it waits for: carry on replaying from where it stopped.
    if (buffering.joinAt !== undefined && buffering.last !== undefined) {
      buffering.joinAt = undefined;
      this.startReplay(buffering, buffering.last);
    }
  }

  /** Resumes after `after`: a replay of the missed events, then the live rooms. */
  private async resume(after: string, stream: TypeMatcher | undefined): Promise<void> {
    const buffering = this.startBuffering('replay');
    this.stream = stream;
    if (this.channel.tenantId === undefined) {
      // Cursors are per tenant: an all-tenants view cannot resume, it reloads.
      this.reset(buffering, 'reconnected');
      return;
    }
    let from = after;
    const since = this.channel.eventsAfterStart(after);
    const first = since?.first;
    if (since !== undefined && first === undefined) {
      // Nothing was emitted since the channel started there: the connection is up to date.
      this.goLive(buffering);
      return;
    }
    if (isStartPosition(after)) {
      // Made up by a channel: only that channel, while it lasts, knows what followed it.
      if (first === undefined) {
        this.reset(buffering, 'stream-reset');
        return;
      }
      if (this.replayed(buffering, first)) return;
      from = first.cursor;
    }
    // One replay read at a time: a client asking again and again without waiting for its answers
    // must not have a history read running for each request (on Redis a page of up to
    // `replayBatchSize` events, which closing the replay does not stop). Only the latest request
    // replays once the one in progress has attached (or given up at `attachTimeoutMs`); the ones
    // between are superseded, as snapshot requests are.
    while (this.replayStart !== undefined) {
      await this.replayStart.done;
      if (this.buffer !== buffering) return;
    }
    buffering.after = from;
    const subscription = this.startReplay(buffering, from);
    if (subscription === undefined) return;
    const attaching = this.attached(subscription.ready);
    const start = { subscription, done: Promise.resolve() };
    start.done = attaching.then(
      () => this.endReplayStart(start),
      () => this.endReplayStart(start),
    );
    this.replayStart = start;
    try {
      await attaching;
    } catch (error) {
      // Still waiting for the replay to start: give it up, keep the call subscriptions.
      if (this.buffer === buffering && buffering.subscription === subscription) {
        this.stream = undefined;
        this.goLive(buffering);
      }
      throw error;
    }
  }

  private endReplayStart(start: { subscription: BusSubscription }): void {
    if (this.replayStart === start) this.replayStart = undefined;
  }

  /**
   * Waits for a bus subscription to be attached, at most `attachTimeoutMs`: while Redis is down
   * it would wait until Redis is back, and the client's acknowledgement with it.
   */
  private async attached(ready: Promise<void>): Promise<void> {
    await attachedWithin(ready, this.context.attachTimeoutMs);
  }

  /** Opens a replay subscription after `after` and feeds the connection from it. */
  private startReplay(buffering: Buffering, after: string): BusSubscription | undefined {
    const tenantId = this.channel.tenantId as string;
    let subscription: BusSubscription;
    try {
      subscription = this.context.bus.subscribe({ tenantId, after });
    } catch (error) {
      this.context.onError(
        new BusSubscriptionLostError({ tenantId, attempt: 1, cause: error }),
        this.errorInfo,
      );
      this.reset(buffering, 'stream-reset');
      return undefined;
    }
    buffering.subscription = subscription;
    void this.replay(buffering, subscription, tenantId);
    return subscription;
  }

  /**
   * Handles one message of the replay; true once the connection left the replay (it joined the
   * live rooms, or was told to reload).
   */
  private replayed(buffering: Buffering, message: BusEventMessage): boolean {
    // Past `maxBufferedBytes` of catch-up waiting for the client, the rest is not sent: closing
    // would make it resume into the same replay, so it reloads instead.
    let behind = this.send(message);
    buffering.seen.add(message.cursor);
    buffering.last = message.cursor;
    const index = buffering.pendingIndex.get(message.cursor);
    if (index !== undefined) {
      const { pending } = buffering;
      for (let next = index + 1; next < pending.length; next += 1) {
        if (behind) {
          this.reset(buffering, 'lagged');
          return true;
        }
        behind = this.send(pending[next] as BusEventMessage);
      }
      this.goLive(buffering);
      return true;
    }
    if (message.cursor === this.channel.cursor) {
      this.goLive(buffering);
      return true;
    }
    if (behind || buffering.seen.size > this.context.maxPendingEvents) {
      this.reset(buffering, 'lagged');
      return true;
    }
    return false;
  }

  private async replay(
    buffering: Buffering,
    first: BusSubscription,
    tenantId: string,
  ): Promise<void> {
    let subscription = first;
    let attempt = 0;
    const stillReplaying = () => this.buffer === buffering && buffering.joinAt === undefined;
    for (;;) {
      let lagged = false;
      let delivered = false;
      let failure: unknown;
      try {
        for await (const message of subscription) {
          if (!stillReplaying() || buffering.subscription !== subscription) return;
          if (message.type === 'reset') {
            this.reset(buffering, message.reason);
            return;
          }
          if (message.type === 'lagged') {
            lagged = true;
            break;
          }
          delivered = true;
          if (this.replayed(buffering, message)) return;
        }
      } catch (error) {
        failure = error ?? new Error('The replay subscription failed');
      }
      if (!stillReplaying() || buffering.subscription !== subscription) return;
      if (!lagged) {
        // The replay ended or failed under us: carry on from history, unless it keeps failing.
        attempt = delivered ? 1 : attempt + 1;
        this.context.onError(
          new BusSubscriptionLostError({ tenantId, attempt, cause: failure }),
          this.errorInfo,
        );
        if (attempt > maxReplayAttempts) {
          this.reset(buffering, 'stream-reset');
          return;
        }
      }
      // Continue from history exactly where the replay stopped.
      const after = buffering.last ?? (buffering.after as string);
      try {
        subscription = this.context.bus.subscribe({ tenantId, after });
      } catch (error) {
        this.context.onError(
          new BusSubscriptionLostError({ tenantId, attempt, cause: error }),
          this.errorInfo,
        );
        this.reset(buffering, 'stream-reset');
        return;
      }
      buffering.subscription = subscription;
    }
  }

  /** Whether the connection takes an event: by its stream (unless `callsOnly`) or its calls. */
  private wants(message: BusEventMessage, callsOnly: boolean): boolean {
    const { event } = message;
    // Another user's user-addressed event (a `user.message`): never this connection's.
    if (!isEventForPrincipal(event, this.principal)) return false;
    if (!callsOnly && this.stream?.matches(event.type)) return true;
    return (
      this.calls !== undefined &&
      event.callId !== undefined &&
      this.calls.has(this.channel.callRoom(event.tenantId, event.callId))
    );
  }

  /**
   * Sends one event of a catch-up to this connection alone (with `callsOnly`, only if one of its
   * call subscriptions takes it). One that cannot be sent is skipped, reported (unless the
   * channel did already) and, when it was meant for this connection, replaced by `reset`
   * (`event-skipped`): the client reloads, as the live rooms do. True when the catch-up waiting
   * for the client is past `maxBufferedBytes` (see {@link SendBacklogLimit.catchUp}).
   */
  private send(message: BusEventMessage, callsOnly = false): boolean {
    if (this.channel.isUndeliverable(message)) {
      return this.mayWant(message, callsOnly) && this.sendSkipped();
    }
    try {
      if (!this.wants(message, callsOnly)) return false;
      const { event } = message;
      const lifecycle = lifecycleEventName(event);
      const delivery: CallTrackDelivery = { cursor: message.cursor, event };
      return this.context.sendBacklog.catchUp(this.socket.conn, () => {
        this.socket.emit('call_update', delivery);
        if (lifecycle !== undefined) this.socket.emit(lifecycle, delivery);
      });
    } catch (error) {
      const skipped = new UndeliverableEventError({
        cursor: message.cursor,
        event: message.event,
        cause: error,
      });
      this.context.onError(skipped, { ...this.errorInfo, skipped: skippedEventOf(skipped) });
      return this.mayWant(message, callsOnly) && this.sendSkipped();
    }
  }

  /** {@link wants}, or true when the event cannot even be read to tell. */
  private mayWant(message: BusEventMessage, callsOnly: boolean): boolean {
    try {
      return this.wants(message, callsOnly);
    } catch {
      return true;
    }
  }

  /** Tells the client an event meant for it was skipped; it reloads. */
  private sendSkipped(): boolean {
    const reset: ResetPayload = { reason: 'event-skipped' };
    return this.context.sendBacklog.catchUp(this.socket.conn, () => {
      this.socket.emit('reset', reset);
    });
  }

  private joinRooms(): void {
    if (this.closed) return;
    if (this.stream) this.channel.joinStream(this.socket, this.stream);
    for (const room of this.calls ?? []) this.channel.joinCall(this.socket, room);
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
    for (const room of this.calls ?? []) this.channel.leaveCall(this.socket, room);
  }

  private stop(buffering: Buffering): void {
    const { subscription } = buffering;
    buffering.subscription = undefined;
    if (subscription === undefined) return;
    const start = this.replayStart;
    if (start?.subscription === subscription) {
      // Its first history read is under way, and closing would not stop it: the next replay would
      // start a read beside it. Closed once it is attached (or given up); its replay loop, which
      // stops at its first message, may close it sooner.
      void start.done.then(() => subscription.close().catch(() => {}));
      return;
    }
    subscription.close().catch(() => {});
  }

  /** Leaves the live rooms (or abandons the current buffering) and starts buffering. */
  private startBuffering(mode: Buffering['mode']): Buffering {
    this.leave();
    const buffering: Buffering = {
      mode,
      pending: [],
      pendingIndex: new Map(),
      seen: new Set(),
      moves: 0,
    };
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
}

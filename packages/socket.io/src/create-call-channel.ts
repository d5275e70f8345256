import type { BusEventMessage, BusSubscription, EventBus } from '@calltrack/bus';
import { isUserAddressedEvent } from '@calltrack/core';
import { isOutageError } from '@calltrack/core/internal';
import type { Namespace, Socket } from 'socket.io';
import { BusSubscriptionLostError } from './bus-subscription-lost-error';
import type { CallTrackDelivery, CallTrackResetReason, ResetPayload } from './call-track-protocol';
import {
  allTenantsCallRoom,
  allTenantsCallsRoom,
  callRoom,
  callsRoom,
  tenantRoom,
  userRoom,
} from './call-track-rooms';
import type { ReportError } from './call-track-socket-error-info';
import { channelRestartDelay } from './channel-restart-delay';
import { createStartPosition } from './channel-start-position';
import { type ChannelOutage, createChannelOutage } from './create-channel-outage';
import type { TypeMatcher } from './create-type-matcher';
import { lifecycleEventName } from './lifecycle-event-name';
import { skippedEventOf, UndeliverableEventError } from './undeliverable-event-error';

/** A connection that is not in the live rooms yet (it is replaying, or loading a snapshot). */
export interface ChannelListener {
  /** Called for every event right after it went to the live rooms (or was skipped). */
  onLive(message: BusEventMessage): void;
  /** Called when the channel lost events: the rooms were told to reload. */
  onReset(reason: CallTrackResetReason): void;
}

/**
 * One bus subscription in this process, shared by every connection it serves: a tenant's (for
 * that tenant's connections), or the all-tenants one (for principals with `allTenants`). It
 * emits each event once to the rooms that want it (`nsp.local`, so an adapter never forwards it:
 * every node has its own subscription), then tells the connections still catching up.
 *
 * It never stays dead: an event it cannot send is skipped and reported (the rooms it was meant
 * for get `reset`, `event-skipped`, and reload), and a subscription that ends or fails is
 * restarted after its cursor (or, when there is none, the rooms get `reset` and reload).
 */
export interface CallChannel {
  /** The tenant, or undefined for the all-tenants channel. */
  readonly tenantId: string | undefined;
  /**
   * The tenant's room name (`tenant:<id>`), one string shared by every connection of the tenant;
   * undefined for the all-tenants channel.
   */
  readonly room: string | undefined;
  /** Resolves once the subscription is attached to the bus (at once when it is now). */
  readonly ready: Promise<void>;
  /**
   * The bus cursor the rooms have every event up to, since the channel last lost continuity:
   * the last event emitted, or before the first one the bus's `position()` the subscription
   * started after (undefined without it). The channel emits every later event of the tenant.
   * Always undefined for the all-tenants channel.
   */
  readonly cursor: string | undefined;
  /**
   * Where a snapshot taken now stands, for `active_calls.cursor`: {@link cursor}, or the
   * channel's made-up start position when there is none. Undefined for the all-tenants channel,
   * which has no position (cursors are per tenant).
   */
  readonly position: string | undefined;
  /** Connections catching up; see {@link ChannelListener}. */
  readonly listeners: Set<ChannelListener>;
  /**
   * For where this channel's stream started (its made-up start position, or the bus's position
   * its subscription started after): the first event emitted since (undefined while there is
   * none). Undefined for any other position: a start of a channel that is gone, or that lost
   * continuity since.
   */
  eventsAfterStart(position: string): { first: BusEventMessage | undefined } | undefined;
  /**
   * True for an event the channel could not send (and reported): connections catching up skip
   * it too, and those it was meant for get `reset` (`event-skipped`) in its place.
   */
  isUndeliverable(message: BusEventMessage): boolean;
  /** The room of one call's subscribers served by this channel. */
  callRoom(tenantId: string, callId: string): string;
  /** Puts a connection in the room of a call it subscribed to (a {@link callRoom}). */
  joinCall(socket: Socket, room: string): void;
  /** Takes a connection out of the room of a call. */
  leaveCall(socket: Socket, room: string): void;
  /** Puts a connection in the stream room for its type filter. */
  joinStream(socket: Socket, matcher: TypeMatcher): void;
  /** Takes a connection out of the stream room for its type filter. */
  leaveStream(socket: Socket, matcher: TypeMatcher): void;
  /** Ends the subscription for good. */
  close(): void;
}

/** Waits `delayMs`, then calls `run`; returns a function that cancels the wait. */
export type ScheduleRestart = (delayMs: number, run: () => void) => () => void;

/** Options of {@link createCallChannel}. */
export interface CallChannelOptions {
  /** The tenant whose events to serve; undefined for the all-tenants channel. */
  tenantId: string | undefined;
  bus: EventBus;
  namespace: Namespace;
  /** Where skipped events and lost subscriptions are reported. Must not throw. */
  onError: ReportError;
  /** How restarts wait. Default: an unref'd `setTimeout`. */
  schedule?: ScheduleRestart;
  /** How long to wait before the n-th restart in a row. Default {@link channelRestartDelay}. */
  restartDelay?: (attempt: number) => number;
  /**
   * Where restarts that fail because Redis cannot be reached go: one incident shared by every
   * channel of an `attachCallTrack` (its registry's). Default: one of this channel's own.
   */
  outage?: ChannelOutage;
}

interface FilterRoom {
  room: string;
  matcher: TypeMatcher;
  sockets: number;
}

const scheduleWithTimer: ScheduleRestart = (delayMs, run) => {
  const timer = setTimeout(run, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
};

const resolved = Promise.resolve();

/** Starts a channel: a tenant's, or with `tenantId: undefined` the all-tenants one. */
export function createCallChannel(options: CallChannelOptions): CallChannel {
  const { tenantId, bus, namespace, onError } = options;
  const schedule = options.schedule ?? scheduleWithTimer;
  const restartDelay = options.restartDelay ?? channelRestartDelay;
  const allTenants = tenantId === undefined;
  const streamRoom = allTenants ? allTenantsCallsRoom() : callsRoom(tenantId);
  const roomOfCall = allTenants ? allTenantsCallRoom : callRoom;
  const filters = new Map<string, FilterRoom>();
  // The call rooms with connections in them, and how many: a reset must reach them too.
  const calls = new Map<string, number>();
  const listeners = new Set<ChannelListener>();
  const undeliverable = new WeakSet<BusEventMessage>();
  let cursor: string | undefined;
  let firstEmitted: BusEventMessage | undefined;
  let startPosition = allTenants ? undefined : createStartPosition();
  // The bus's position the subscription started after, while continuity lasts.
  let busStart: string | undefined;
  let subscription: BusSubscription | undefined;
  let cancelRestart: (() => void) | undefined;
  let attached = false;
  let attaching: { promise: Promise<void>; resolve: () => void } | undefined;
  let closed = false;
  // Restarts that failed because Redis cannot be reached are one outage across the channels:
  // the first is reported (one line, no stack), then one "back" once channels attach again.
  // Other failures (bugs) are reported at every restart, with their stack.
  const outage = options.outage ?? createChannelOutage(onError);
  // This channel's handle in `outage`: the object returned below is not made yet.
  const self = {};

  const markAttached = (): void => {
    outage.attached(self);
    attached = true;
    attaching?.resolve();
    attaching = undefined;
  };

  const emitToRooms = (message: BusEventMessage): void => {
    const { cursor, event } = message;
    // Everything that reads the event comes before the first emit, so a poisoned event fails
    // here, for every connection alike, before any packet is written.
    const lifecycle = lifecycleEventName(event);
    const recipients = recipientsOf(message);
    // No room at all would broadcast to the whole namespace.
    if (recipients.length === 0) return;
    const delivery: CallTrackDelivery = { cursor, event };
    const target = namespace.local.to(recipients);
    target.emit('call_update', delivery);
    if (lifecycle !== undefined) target.emit(lifecycle, delivery);
  };

  /** The rooms (or, for a user-addressed event, the sockets) an event goes to. */
  const recipientsOf = ({ event }: BusEventMessage): string[] => {
    const rooms = [streamRoom];
    for (const filter of filters.values()) {
      if (filter.matcher.matches(event.type)) rooms.push(filter.room);
    }
    if (event.callId !== undefined) rooms.push(roomOfCall(event.tenantId, event.callId));
    return isUserAddressedEvent(event) ? addressees(event.tenantId, event.userId, rooms) : rooms;
  };

  /**
   * Tells the connections an event was meant for that it was skipped, so they reload (a lost
   * `call.ended` would leave the call live on them for good). When even its rooms cannot be
   * worked out (its `type` throws), every room of the channel is told.
   */
  const resetSkipped = (message: BusEventMessage): void => {
    let recipients: string[];
    try {
      recipients = recipientsOf(message);
    } catch {
      recipients = everyRoom();
    }
    if (recipients.length === 0) return;
    const reset: ResetPayload = { reason: 'event-skipped' };
    namespace.local.to(recipients).emit('reset', reset);
  };

  /** Every room whose members may receive an event: the stream's, its filters', the calls'. */
  const everyRoom = (): string[] => [
    streamRoom,
    ...[...filters.values()].map((filter) => filter.room),
    ...calls.keys(),
  ];

  /**
   * The connections of one user (its `user:` room, joined on connect by every connection whose
   * principal has that user id in that tenant) that are in one of `rooms`: Socket.IO unites
   * rooms and cannot intersect them, so the local adapter's membership is read. Their own rooms
   * (a socket id is one) are the target; an empty list reaches nobody.
   */
  const addressees = (eventTenantId: string, userId: string, rooms: string[]): string[] => {
    const { adapter } = namespace;
    const sockets = adapter.rooms.get(userRoom(eventTenantId, userId));
    if (sockets === undefined) return [];
    const target: string[] = [];
    for (const socketId of sockets) {
      const joined = adapter.sids.get(socketId);
      if (joined !== undefined && rooms.some((room) => joined.has(room))) target.push(socketId);
    }
    return target;
  };

  const dispatch = (message: BusEventMessage): void => {
    // Positions are per tenant: the all-tenants channel has none to keep.
    if (!allTenants) {
      firstEmitted ??= message;
      cursor = message.cursor;
    }
    try {
      emitToRooms(message);
    } catch (error) {
      undeliverable.add(message);
      const skipped = new UndeliverableEventError({
        cursor: message.cursor,
        event: message.event,
        cause: error,
      });
      onError(skipped, { skipped: skippedEventOf(skipped) });
      resetSkipped(message);
    }
    if (listeners.size === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener.onLive(message);
      } catch (error) {
        onError(error);
      }
    }
  };

  /** Continuity is lost: the positions handed out so far can no longer be resumed here. */
  const forgetPosition = (): void => {
    cursor = undefined;
    firstEmitted = undefined;
    busStart = undefined;
    if (!allTenants) startPosition = createStartPosition();
  };

  const reset = (reason: CallTrackResetReason): void => {
    forgetPosition();
    // Every room whose members may have missed events: the stream's and the calls'.
    namespace.local.to(everyRoom()).emit('reset', { reason });
    for (const listener of [...listeners]) {
      try {
        listener.onReset(reason);
      } catch (error) {
        onError(error);
      }
    }
  };

  const subscribe = async (): Promise<BusSubscription> => {
    if (allTenants) return bus.subscribe({ allTenants: true });
    if (cursor === undefined && bus.position !== undefined) {
      // Read before subscribing, and subscribed after: the channel then emits exactly the
      // events after it (those published in between from history), so a snapshot taken before
      // the first event names a real cursor, which resumes on any process.
      cursor = await bus.position(tenantId);
      busStart = cursor;
    }
    return bus.subscribe(cursor === undefined ? { tenantId } : { tenantId, after: cursor });
  };

  const waitBeforeRestart = (delayMs: number): Promise<void> =>
    new Promise<void>((resolve) => {
      const cancel = schedule(delayMs, resolve);
      cancelRestart = () => {
        cancel();
        resolve();
      };
    });

  const reportLost = (attempt: number, failure: unknown): void => {
    if (failure === undefined || !isOutageError(failure)) {
      onError(new BusSubscriptionLostError({ tenantId, attempt, cause: failure }));
    } else {
      outage.failed(
        self,
        new BusSubscriptionLostError({ tenantId, attempt, cause: failure, outage: true }),
      );
    }
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!closed) {
      let lagged = false;
      let delivered = false;
      let failure: unknown;
      let current: BusSubscription | undefined;
      try {
        current = await subscribe();
        subscription = current;
        // Closed while the position was read: `close()` could not end this subscription.
        if (closed) break;
        await current.ready;
        if (closed) break;
        markAttached();
        for await (const message of current) {
          delivered = true;
          if (message.type === 'event') dispatch(message);
          else if (message.type === 'reset') reset(message.reason);
          else {
            lagged = true;
            break;
          }
        }
      } catch (error) {
        failure = error ?? new Error('The bus subscription failed');
      } finally {
        attached = false;
        subscription = undefined;
        current?.close().catch(() => {});
      }
      if (closed) break;
      // Too slow for a moment: continue from history, exactly where the rooms left off.
      if (lagged && cursor !== undefined) continue;
      attempt = delivered ? 1 : attempt + 1;
      if (!lagged) reportLost(attempt, failure);
      // Without a cursor to resume after, events may fall in the gap: the rooms reload.
      if (cursor === undefined) reset(lagged ? 'lagged' : 'reconnected');
      const delayMs = restartDelay(attempt);
      if (delayMs > 0) await waitBeforeRestart(delayMs);
      cancelRestart = undefined;
    }
    attaching?.resolve();
  };
  run().catch(onError);

  return {
    tenantId,
    room: allTenants ? undefined : tenantRoom(tenantId),
    get ready() {
      if (attached || closed) return resolved;
      if (!attaching) {
        let resolve!: () => void;
        const promise = new Promise<void>((done) => {
          resolve = done;
        });
        attaching = { promise, resolve };
      }
      return attaching.promise;
    },
    get cursor() {
      return cursor;
    },
    get position() {
      return allTenants ? undefined : (cursor ?? startPosition);
    },
    listeners,
    eventsAfterStart(position) {
      if (position !== startPosition && position !== busStart) return undefined;
      return { first: firstEmitted };
    },
    isUndeliverable(message) {
      return undeliverable.has(message);
    },
    callRoom(eventTenantId, callId) {
      return roomOfCall(eventTenantId, callId);
    },
    joinCall(socket, room) {
      calls.set(room, (calls.get(room) ?? 0) + 1);
      socket.join(room);
    },
    leaveCall(socket, room) {
      const sockets = calls.get(room);
      if (sockets === undefined) return;
      socket.leave(room);
      if (sockets <= 1) calls.delete(room);
      else calls.set(room, sockets - 1);
    },
    joinStream(socket, matcher) {
      if (matcher.key === '') {
        socket.join(streamRoom);
        return;
      }
      let filter = filters.get(matcher.key);
      if (!filter) {
        const room = allTenants
          ? allTenantsCallsRoom(matcher.key)
          : callsRoom(tenantId, matcher.key);
        filter = { room, matcher, sockets: 0 };
        filters.set(matcher.key, filter);
      }
      filter.sockets += 1;
      socket.join(filter.room);
    },
    leaveStream(socket, matcher) {
      if (matcher.key === '') {
        socket.leave(streamRoom);
        return;
      }
      const filter = filters.get(matcher.key);
      if (!filter) return;
      socket.leave(filter.room);
      filter.sockets -= 1;
      if (filter.sockets <= 0) filters.delete(matcher.key);
    },
    close() {
      if (closed) return;
      closed = true;
      outage.closed(self);
      listeners.clear();
      cancelRestart?.();
      subscription?.close().catch(() => {});
    },
  };
}

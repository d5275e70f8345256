import type { BusEventMessage, BusResetMessage, BusSubscription, EventBus } from '@calltrack/bus';
import type { Namespace, Socket } from 'socket.io';
import type { CallTrackDelivery } from './call-track-protocol';
import { callRoom, callsRoom, tenantRoom } from './call-track-rooms';
import type { TypeMatcher } from './create-type-matcher';
import { lifecycleEventName } from './lifecycle-event-name';

/** A connection that is not in the live rooms yet (it is replaying, or loading a snapshot). */
export interface ChannelListener {
  /** Called for every event right after it went to the live rooms. */
  onLive(message: BusEventMessage): void;
  /** Called when the channel's own subscription lost events. */
  onReset(reason: BusResetMessage['reason']): void;
}

/**
 * One tenant's bus subscription in this process, shared by every connection of the tenant. It
 * emits each event once to the rooms that want it (`nsp.local`, so an adapter never forwards it:
 * every node has its own subscription), then tells the connections still catching up.
 */
export interface TenantChannel {
  readonly tenantId: string;
  /** The tenant's room name (`tenant:<id>`), one string shared by every connection. */
  readonly room: string;
  /** Resolves once the subscription is attached to the bus. */
  readonly ready: Promise<void>;
  /** The cursor of the last event emitted to the rooms. */
  readonly lastEmitted: string | undefined;
  /** Connections catching up; see {@link ChannelListener}. */
  readonly listeners: Set<ChannelListener>;
  /** Puts a connection in the stream room for its type filter. */
  joinStream(socket: Socket, matcher: TypeMatcher): void;
  /** Takes a connection out of the stream room for its type filter. */
  leaveStream(socket: Socket, matcher: TypeMatcher): void;
  /** Ends the subscription. */
  close(): void;
}

interface FilterRoom {
  room: string;
  matcher: TypeMatcher;
  sockets: number;
}

/** Options of {@link createTenantChannel}. */
export interface TenantChannelOptions {
  tenantId: string;
  bus: EventBus;
  namespace: Namespace;
  onError: (error: unknown) => void;
}

/** Starts a tenant's shared subscription. */
export function createTenantChannel(options: TenantChannelOptions): TenantChannel {
  const { tenantId, bus, namespace } = options;
  const streamRoom = callsRoom(tenantId);
  const filters = new Map<string, FilterRoom>();
  const listeners = new Set<ChannelListener>();
  let lastEmitted: string | undefined;
  let subscription: BusSubscription | undefined;
  let closed = false;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const dispatch = (message: BusEventMessage): void => {
    const { cursor, event } = message;
    const rooms = [streamRoom];
    for (const filter of filters.values()) {
      if (filter.matcher.matches(event.type)) rooms.push(filter.room);
    }
    if (event.callId !== undefined) rooms.push(callRoom(tenantId, event.callId));
    const delivery: CallTrackDelivery = { cursor, event };
    const target = namespace.local.to(rooms);
    target.emit('call_update', delivery);
    const lifecycle = lifecycleEventName(event);
    if (lifecycle !== undefined) target.emit(lifecycle, delivery);
    lastEmitted = cursor;
    for (const listener of [...listeners]) listener.onLive(message);
  };

  const reset = (reason: BusResetMessage['reason']): void => {
    const rooms = [streamRoom, ...[...filters.values()].map((filter) => filter.room)];
    namespace.local.to(rooms).emit('reset', { reason });
    for (const listener of [...listeners]) listener.onReset(reason);
  };

  const run = async (): Promise<void> => {
    let after: string | undefined;
    while (!closed) {
      const current = bus.subscribe(after === undefined ? { tenantId } : { tenantId, after });
      subscription = current;
      await current.ready;
      markReady();
      let lagged = false;
      for await (const message of current) {
        if (message.type === 'event') dispatch(message);
        else if (message.type === 'reset') reset(message.reason);
        else {
          // Too slow for a moment: continue from history, exactly where the rooms left off.
          lagged = true;
          after = lastEmitted ?? message.cursor;
          break;
        }
      }
      if (!lagged) break;
    }
    markReady();
  };
  run().catch(options.onError);

  return {
    tenantId,
    room: tenantRoom(tenantId),
    ready,
    get lastEmitted() {
      return lastEmitted;
    },
    listeners,
    joinStream(socket, matcher) {
      if (matcher.key === '') {
        socket.join(streamRoom);
        return;
      }
      let filter = filters.get(matcher.key);
      if (!filter) {
        filter = { room: callsRoom(tenantId, matcher.key), matcher, sockets: 0 };
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
      closed = true;
      listeners.clear();
      void subscription?.close();
    },
  };
}

import type { EventBus } from '@calltrack/bus';
import { InvalidArgumentError } from '@calltrack/core';
import type { Namespace, Server, Socket } from 'socket.io';
import type { CallTrackAck } from './call-track-protocol';
import { userRoom } from './call-track-rooms';
import type { CallTrackerReader } from './call-tracker-reader';
import {
  callSubscriptionSchema,
  formatIssues,
  subscribeToCallsSchema,
} from './client-payload-schemas';
import {
  type AuthenticateSocket,
  createAuthMiddleware,
  type SocketCallTrackData,
} from './create-auth-middleware';
import { createTenantChannel, type TenantChannel } from './create-tenant-channel';
import { createTypeMatcher } from './create-type-matcher';
import { type DeliveryContext, SocketDelivery } from './socket-delivery';
import { toAckError } from './to-ack-error';

/** Options of {@link attachCallTrack}. */
export interface AttachCallTrackOptions {
  /** Where events come from: `createMemoryBus()`, or `createRedisBus()` for several nodes. */
  bus: EventBus;
  /** Answers `active_calls` and `call_data`. Without it neither is sent. */
  tracker?: CallTrackerReader;
  /** Verifies each handshake; see {@link AuthenticateSocket}. */
  authenticate: AuthenticateSocket;
  /** The namespace to serve. Default `/`. */
  namespace?: string;
  /** Most call subscriptions (`subscribe_to_call`) per connection. Default 100. */
  maxCallSubscriptions?: number;
  /**
   * Most events held for one connection while it catches up (replay or snapshot) before it gets
   * `reset` with reason `lagged`. Default 10,000.
   */
  maxPendingEvents?: number;
  /** Where unexpected failures go (a throwing `authenticate` or tracker). Default `console.warn`. */
  onError?: (error: unknown) => void;
}

/** What {@link attachCallTrack} returns. */
export interface CallTrackSocketHandle {
  /** The namespace calltrack serves. */
  readonly namespace: Namespace;
  /**
   * Detaches calltrack: removes its middleware and listeners, takes the connections out of the
   * rooms it put them in and ends its bus subscriptions. Connections stay open; the bus is not
   * closed (it is yours).
   */
  close(): Promise<void>;
}

type AckFunction = (answer: CallTrackAck) => void;
type Handler = (delivery: SocketDelivery, payload: unknown, ack: AckFunction) => Promise<void>;

/** A Socket.IO `Server` with any event maps: calltrack adds its own events alongside yours. */
// biome-ignore lint/suspicious/noExplicitAny: any typed Server works; calltrack uses its own events.
export type AnyServer = Server<any, any, any, any>;

const invalid = (event: string, message: string): CallTrackAck => ({
  ok: false,
  error: { code: 'invalid_payload', message: `${event}: ${message}` },
});

/**
 * Serves calltrack on a Socket.IO server: authenticates each handshake with `authenticate`,
 * puts the connection in its `tenant:` and `user:` rooms, and answers `subscribe_to_calls`,
 * `unsubscribe_from_calls`, `subscribe_to_call` and `unsubscribe_from_call` with acknowledgements.
 * Each tenant with a connection in this process has one bus subscription, emitting each event
 * once to the rooms that want it. A client that reconnects with `auth.lastCursor` gets exactly
 * the events it missed, then the live ones.
 *
 * @example
 * ```ts
 * const io = new Server(httpServer);
 * const calltrack = attachCallTrack(io, {
 *   bus,
 *   tracker,
 *   authenticate: async (handshake) => {
 *     const claims = await verifyJwt(handshake.auth.token);
 *     return claims ? { tenantId: claims.tenantId, userId: claims.sub } : null;
 *   },
 * });
 * ```
 */
export function attachCallTrack(
  io: AnyServer,
  options: AttachCallTrackOptions,
): CallTrackSocketHandle {
  if (typeof options?.authenticate !== 'function') {
    throw new InvalidArgumentError({ message: 'attachCallTrack needs an authenticate function' });
  }
  if (!options.bus || typeof options.bus.subscribe !== 'function') {
    throw new InvalidArgumentError({ message: 'attachCallTrack needs a bus' });
  }
  const { bus, tracker } = options;
  const maxCallSubscriptions = options.maxCallSubscriptions ?? 100;
  const onError =
    options.onError ?? ((error: unknown) => console.warn('[calltrack/socket.io]', error));
  const context: DeliveryContext = {
    bus,
    tracker,
    maxPendingEvents: options.maxPendingEvents ?? 10_000,
  };
  const namespace = io.of(options.namespace ?? '/') as Namespace;
  const channels = new Map<string, { channel: TenantChannel; sockets: number }>();
  // One entry per connection; the listeners below are shared and find it through `this`.
  const deliveries = new Map<Socket, SocketDelivery>();
  let closed = false;

  const acquire = (tenantId: string): TenantChannel => {
    let holder = channels.get(tenantId);
    if (!holder) {
      holder = { channel: createTenantChannel({ tenantId, bus, namespace, onError }), sockets: 0 };
      channels.set(tenantId, holder);
    }
    holder.sockets += 1;
    return holder.channel;
  };

  const release = (tenantId: string): void => {
    const holder = channels.get(tenantId);
    if (!holder) return;
    holder.sockets -= 1;
    if (holder.sockets > 0) return;
    channels.delete(tenantId);
    holder.channel.close();
  };

  const handlers: Record<string, Handler> = {
    async subscribe_to_calls(delivery, payload, ack) {
      const parsed = subscribeToCallsSchema.safeParse(payload ?? undefined);
      if (!parsed.success) {
        ack(invalid('subscribe_to_calls', formatIssues(parsed.error)));
        return;
      }
      await delivery.subscribeToCalls(parsed.data?.after, createTypeMatcher(parsed.data?.types));
      ack({ ok: true });
    },
    async unsubscribe_from_calls(delivery, _payload, ack) {
      delivery.unsubscribeFromCalls();
      ack({ ok: true });
    },
    async subscribe_to_call(delivery, payload, ack) {
      const parsed = callSubscriptionSchema.safeParse(payload);
      if (!parsed.success) {
        ack(invalid('subscribe_to_call', formatIssues(parsed.error)));
        return;
      }
      const { callId } = parsed.data;
      // Subscribe first, then read the call: an event in between arrives before `call_data`,
      // and the snapshot (read later) already includes it; `version` orders the two.
      if (!delivery.addCall(callId, maxCallSubscriptions)) {
        ack({
          ok: false,
          error: {
            code: 'too_many_subscriptions',
            message: `At most ${maxCallSubscriptions} call subscriptions per connection`,
          },
        });
        return;
      }
      if (!tracker) {
        ack({ ok: true });
        return;
      }
      let call: Awaited<ReturnType<CallTrackerReader['getCall']>>;
      try {
        call = await tracker.getCall(delivery.channel.tenantId, callId);
      } catch (error) {
        delivery.removeCall(callId);
        throw error;
      }
      if (!call) {
        delivery.removeCall(callId);
        ack({ ok: false, error: { code: 'not_found', message: `Call ${callId} not found` } });
        return;
      }
      delivery.socket.emit('call_data', { call });
      ack({ ok: true });
    },
    async unsubscribe_from_call(delivery, payload, ack) {
      const parsed = callSubscriptionSchema.safeParse(payload);
      if (!parsed.success) {
        ack(invalid('unsubscribe_from_call', formatIssues(parsed.error)));
        return;
      }
      delivery.removeCall(parsed.data.callId);
      ack({ ok: true });
    },
  };

  // Shared listeners: Socket.IO calls them with `this` set to the socket.
  const listeners = Object.entries(handlers).map(([event, handle]) => {
    const listener = function (this: Socket, ...args: unknown[]): void {
      const delivery = deliveries.get(this);
      if (!delivery) return;
      const last = args[args.length - 1];
      const ack: AckFunction = typeof last === 'function' ? (last as AckFunction) : () => {};
      // `emit('x', ack)` sends no payload; `emit('x', undefined, ack)` arrives as null.
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      handle(delivery, payload, ack).catch((error: unknown) => {
        const answer = toAckError(error);
        if (answer.error.code === 'internal_error') onError(error);
        ack(answer);
      });
    };
    return [event, listener] as const;
  });

  const detach = (socket: Socket, leaving: boolean): void => {
    const delivery = deliveries.get(socket);
    if (!delivery) return;
    deliveries.delete(socket);
    for (const [event, listener] of listeners) socket.off(event, listener);
    socket.off('disconnect', onDisconnect);
    delivery.close();
    if (leaving) {
      const data = (socket.data as { calltrack?: SocketCallTrackData }).calltrack;
      socket.leave(delivery.channel.room);
      if (data?.userId !== undefined) socket.leave(userRoom(data.tenantId, data.userId));
      delete (socket.data as { calltrack?: unknown }).calltrack;
    }
    release(delivery.channel.tenantId);
  };

  function onDisconnect(this: Socket): void {
    detach(this, false);
  }

  const onConnection = (socket: Socket): void => {
    const data = (socket.data as { calltrack?: SocketCallTrackData }).calltrack;
    if (closed || !data) return;
    const channel = acquire(data.tenantId);
    socket.join(channel.room);
    if (data.userId !== undefined) socket.join(userRoom(data.tenantId, data.userId));
    const delivery = new SocketDelivery(context, socket, channel);
    deliveries.set(socket, delivery);
    for (const [event, listener] of listeners) socket.on(event, listener);
    socket.on('disconnect', onDisconnect);
    if (data.lastCursor !== undefined) {
      delivery.subscribeToCalls(data.lastCursor, createTypeMatcher(data.types)).catch(onError);
    }
  };

  const middleware = createAuthMiddleware(options.authenticate, onError);
  namespace.use(middleware);
  namespace.on('connection', onConnection);

  return {
    namespace,
    async close() {
      if (closed) return;
      closed = true;
      namespace.off('connection', onConnection);
      const fns = (namespace as unknown as { _fns?: unknown[] })._fns;
      if (Array.isArray(fns)) {
        const index = fns.indexOf(middleware);
        if (index !== -1) fns.splice(index, 1);
      }
      for (const socket of [...deliveries.keys()]) detach(socket, true);
      for (const holder of channels.values()) holder.channel.close();
      channels.clear();
    },
  };
}

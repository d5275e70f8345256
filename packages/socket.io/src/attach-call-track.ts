import type { EventBus } from '@calltrack/bus';
import {
  type ActiveCallsReader,
  CallTrackError,
  type Clock,
  type ConnectionPresence,
  InvalidArgumentError,
  type PresenceRegistration,
  type Principal,
} from '@calltrack/core';
import { checkTimerDelayMs, parseAllowedOrigins, toError } from '@calltrack/core/internal';
import type { Namespace, Server, Socket } from 'socket.io';
import type { AuthenticateSocket } from './authenticate-handshake';
import type { CallTrackAck } from './call-track-protocol';
import { tenantRoom, userRoom } from './call-track-rooms';
import type { CallTrackSocketErrorInfo, ReportError } from './call-track-socket-error-info';
import {
  callSubscriptionSchema,
  formatIssues,
  type HandshakeResume,
  subscribeToCallsSchema,
} from './client-payload-schemas';
import { createAuthMiddleware } from './create-auth-middleware';
import type { CallChannel } from './create-call-channel';
import { createChannelRegistry } from './create-channel-registry';
import { createHeartbeatOutage } from './create-heartbeat-outage';
import { createTypeMatcher } from './create-type-matcher';
import { SendBacklogLimit } from './send-backlog-limit';
import { type DeliveryContext, SocketDelivery } from './socket-delivery';
import { toAckError } from './to-ack-error';

/** Options of {@link attachCallTrack}. */
export interface AttachCallTrackOptions {
  /** Where events come from: `createMemoryBus()`, or `createRedisBus()` for several nodes. */
  bus: EventBus;
  /**
   * Answers `active_calls` and `call_data`: a `CallTracker` from `@calltrack/tracker`, or any
   * `ActiveCallsReader`. Without it neither is sent.
   */
  tracker?: ActiveCallsReader;
  /**
   * Presence (`createPresence()` from `@calltrack/presence`, or any `ConnectionPresence`): each
   * connection whose principal has a `userId` is registered once its bus subscription is
   * attached (its socket id is the connection id), heartbeats on every Engine.IO pong (every
   * `pingInterval`, 25 s by default; create presence with `autoHeartbeat: false` and
   * `heartbeatIntervalMs` of at least `pingInterval`), and disconnects with the socket. A
   * refusal (too many connections) is sent as `presence_error`; the connection streams on. A
   * `subscribe_to_calls` without `after` whose types take `presence.*` gets
   * `presence_members` before the diffs: its tenant's, or every tenant's for an all-tenants
   * principal (with `listMembersAcrossTenants`, which `createPresence()` has; without it,
   * `presence_unavailable`). At most `presenceSnapshotLimit` (1,000) members, `complete: false`
   * past them.
   */
  presence?: ConnectionPresence;
  /** Verifies each handshake; see {@link AuthenticateSocket}. */
  authenticate: AuthenticateSocket;
  /**
   * The only origins (`https://app.example`) whose pages may connect: a handshake whose `Origin`
   * header names another is refused (`connect_error` with `data.code: 'origin_not_allowed'`)
   * before `authenticate` runs. Set it when `authenticate` reads a cookie: the browser sends the
   * cookie with a WebSocket that any site opens, and Socket.IO's `cors` option only guards
   * long-polling. A handshake without `Origin` is refused too when its `Sec-Fetch-Site` is
   * `cross-site` or `same-site` (another page's long-polling request); with `same-origin`,
   * `none` or no `Sec-Fetch-Site` (not a browser) it is let through. The rule of SSE's and
   * tRPC's option. Default: every origin.
   */
  allowedOrigins?: readonly string[];
  /** The namespace to serve. Default `/`. */
  namespace?: string;
  /**
   * Most calls one connection follows (`subscribe_to_call`, and `auth.calls` on reconnect).
   * Default 100.
   */
  maxFollowedCalls?: number;
  /**
   * Most events held for one connection while it catches up. A replay past it (or past
   * `maxBufferedBytes` waiting to be written) gets `reset` with reason `lagged`; a snapshot past it drops what it held and is read again, later (its call
   * subscriptions get their events first). Default 10,000.
   */
  maxPendingEvents?: number;
  /**
   * Most packets waiting to be written to one connection (Engine.IO's write buffer) before it is
   * closed: a client that stops reading would otherwise hold memory without end. The client
   * reconnects and resumes from its last cursor. An event is one packet, two with its lifecycle
   * event. Not counted: the packets queued in the turn of the event loop that crossed the limit
   * (a burst reaches every connection before any transport writes), and those of a catch-up (a
   * replay, or what queued while a snapshot loaded). Default 1,000.
   */
  maxBufferedPackets?: number;
  /**
   * Most bytes waiting to be written to one connection before it is closed, as
   * `maxBufferedPackets` counts packets and with the same exceptions: a few large events (a
   * Retell event may be close to 896 KiB, an `active_calls` snapshot more) would otherwise hold
   * far more memory than the packet count suggests. A packet weighs the length of its encoded
   * text (its size in bytes for ASCII). A catch-up is not closed (the client would resume into
   * the same replay) but stopped: once more than this much of a replay, or of the events queued
   * while a snapshot loaded (sent after `active_calls`, which does not count, or before it for
   * the call subscriptions when the queue outgrew `maxPendingEvents`), waits for the
   * connection, the client gets `reset` with reason `lagged` and reloads from a snapshot. This
   * measures what is queued at once, not how fast the client reads: a memory bus queues its whole
   * replay in one turn of the event loop, so a client reading normally that resumes over more than
   * this much history gets `lagged` too; a Redis bus reads page by page, so there only a client
   * that does not read does. Default 8 MiB (8,388,608).
   */
  maxBufferedBytes?: number;
  /**
   * Most calls in an `active_calls` snapshot (1–10,000, the tracker's range), the newest first;
   * `complete` says whether more were active. Default 1,000.
   */
  snapshotLimit?: number;
  /**
   * Most users in a `presence_members` snapshot (1–10,000, what `createPresence()` lists at
   * once), of the tenant, or of every tenant together for an all-tenants principal (tenant after
   * tenant, each by user id); `complete` says whether more were connected, and the users left out
   * come with their next `presence.*` event. At 10,000 a list that fills the limit counts as cut,
   * as `snapshotLimit`'s does. The same option as the SSE handler's and tRPC's procedures'.
   * Default 1,000.
   */
  presenceSnapshotLimit?: number;
  /**
   * The longest a `subscribe_to_calls` waits for its bus subscription before it is answered
   * `unavailable` (with `retryAfterMs`): while Redis is down a bus subscription cannot start, and
   * without a bound the acknowledgement would wait until Redis came back. The connection stays
   * open and the bus keeps trying, so a later `subscribe_to_calls` streams once Redis is back
   * (`@calltrack/react` asks again by itself). The same name and default as the SSE handler's.
   * Default 10,000 ms.
   */
  attachTimeoutMs?: number;
  /**
   * Where unexpected failures go: a throwing `authenticate` or tracker, an event that could not
   * be sent and was skipped (`UndeliverableEventError`, with `info.skipped`), a bus subscription
   * that was lost and restarted (`BusSubscriptionLostError`), a presence heartbeat that failed
   * (while Redis cannot be reached or refuses writes: once per outage, then an `Error` saying
   * when heartbeats work again). `info` names the connection
   * (`socketId`, and `principal` once authenticated) when the failure belongs to one. Default
   * `console.warn`. A thrown value that is not an `Error` arrives wrapped in one (its `cause`).
   */
  onError?: (error: Error, info: CallTrackSocketErrorInfo) => void;
  /**
   * Where the outage reports read the time: the "work again after … s" of failed presence
   * heartbeats and the "are back after … s" of bus subscriptions that failed to restart, so a
   * test moves one clock instead of waiting. The waits themselves (channel restarts,
   * `attachTimeoutMs`, Engine.IO's pings) are real time. Default `Date.now`.
   */
  clock?: Clock;
}

/** What {@link attachCallTrack} returns. */
export interface CallTrackSocketHandle {
  /** The namespace calltrack serves. */
  readonly namespace: Namespace;
  /**
   * Detaches calltrack: its middleware lets every later handshake through untouched (Socket.IO
   * has no public way to remove a middleware), its listeners go, the connections leave the rooms
   * it put them in and its bus subscriptions end. Connections stay open; the bus is not closed
   * (it is yours).
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

const notFound = (callId: string): CallTrackAck => ({
  ok: false,
  error: { code: 'not_found', message: `Call ${callId} not found` },
});

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError({ message: `attachCallTrack: ${name} must be an integer ≥ 1` });
  }
  return value;
}

/**
 * Serves calltrack on a Socket.IO server: authenticates each handshake with `authenticate`,
 * puts the connection in its `tenant:` and `user:` rooms, and answers `subscribe_to_calls`,
 * `unsubscribe_from_calls`, `subscribe_to_call` and `unsubscribe_from_call` with acknowledgements.
 * Each tenant with a connection in this process has one bus subscription, emitting each event
 * once to the rooms that want it; principals with `allTenants` share one all-tenants
 * subscription. A client that reconnects with `auth.lastCursor` gets exactly the events it
 * missed, then the live ones.
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
  const presence = options.presence ?? undefined;
  if (
    presence !== undefined &&
    (typeof presence.connect !== 'function' || typeof presence.listMembers !== 'function')
  ) {
    throw new InvalidArgumentError({
      message:
        'attachCallTrack: presence must have connect() and listMembers() (createPresence()).',
    });
  }
  const maxFollowedCalls = positiveInteger(options.maxFollowedCalls, 100, 'maxFollowedCalls');
  const maxPendingEvents = positiveInteger(options.maxPendingEvents, 10_000, 'maxPendingEvents');
  const allowedOrigins = parseAllowedOrigins('attachCallTrack', options.allowedOrigins);
  const maxBufferedPackets = positiveInteger(
    options.maxBufferedPackets,
    1000,
    'maxBufferedPackets',
  );
  const maxBufferedBytes = positiveInteger(
    options.maxBufferedBytes,
    8 * 1024 * 1024,
    'maxBufferedBytes',
  );
  const snapshotLimit = positiveInteger(options.snapshotLimit, 1000, 'snapshotLimit');
  const attachTimeoutMs = checkTimerDelayMs(
    'attachCallTrack',
    'attachTimeoutMs',
    options.attachTimeoutMs,
    10_000,
  );
  if (snapshotLimit > 10_000) {
    throw new InvalidArgumentError({
      message:
        'attachCallTrack: snapshotLimit must be at most 10,000 (what a tracker lists at once)',
    });
  }
  const presenceSnapshotLimit = positiveInteger(
    options.presenceSnapshotLimit,
    1000,
    'presenceSnapshotLimit',
  );
  if (presenceSnapshotLimit > 10_000) {
    throw new InvalidArgumentError({
      message:
        'attachCallTrack: presenceSnapshotLimit must be at most 10,000 (what presence lists at once)',
    });
  }
  const reportTo =
    options.onError ?? ((error: unknown) => console.warn('[calltrack/socket.io]', error));
  // A failing report must not take down the delivery that reports.
  const onError: ReportError = (error, info = {}) => {
    try {
      reportTo(toError(error), info);
    } catch {}
  };
  const context: DeliveryContext = {
    bus,
    tracker,
    presence,
    maxPendingEvents,
    // A catch-up sends at most the replayed and the queued events, each up to two packets.
    sendBacklog: new SendBacklogLimit(
      {
        maxBufferedPackets,
        maxBufferedBytes,
        maxCatchUpPackets: 4 * (maxPendingEvents + 1),
      },
      onError,
    ),
    maxFollowedCalls,
    snapshotLimit,
    presenceSnapshotLimit,
    attachTimeoutMs,
    onError,
  };
  const namespace = io.of(options.namespace ?? '/') as Namespace;
  const { clock } = options;
  const channels = createChannelRegistry({ bus, namespace, onError, clock });
  // Every connection heartbeats on each pong: an outage is reported once, not per heartbeat.
  const heartbeats = createHeartbeatOutage(onError, clock);
  const resumeRequests = new WeakMap<Socket, HandshakeResume>();
  // One entry per connection; the listeners below are shared and find it through `this`.
  const deliveries = new Map<Socket, SocketDelivery>();
  // Presence registrations, by the Engine.IO connection whose pongs heartbeat them.
  const registrations = new Map<Socket['conn'], Map<Socket, PresenceRegistration>>();
  // For presence failures: a connection that is leaving has no delivery any more.
  const connectionInfo = (socket: Socket): CallTrackSocketErrorInfo => {
    const principal = (socket.data as { calltrack?: Principal }).calltrack;
    return principal === undefined ? { socketId: socket.id } : { socketId: socket.id, principal };
  };
  let closed = false;

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
      // Another tenant's call, named by a tenant principal: the same answer as an unknown call.
      const tenantId = delivery.callTenant(parsed.data.tenantId);
      ack(
        tenantId === undefined
          ? notFound(callId)
          : await delivery.subscribeToCall(tenantId, callId),
      );
    },
    async unsubscribe_from_call(delivery, payload, ack) {
      const parsed = callSubscriptionSchema.safeParse(payload);
      if (!parsed.success) {
        ack(invalid('unsubscribe_from_call', formatIssues(parsed.error)));
        return;
      }
      const tenantId = delivery.callTenant(parsed.data.tenantId);
      if (tenantId !== undefined) delivery.removeCall(tenantId, parsed.data.callId);
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
        if (answer.error.code === 'internal_error') onError(error, delivery.errorInfo);
        ack(answer);
      });
    };
    return [event, listener] as const;
  });

  /**
   * What the handshake asked to resume. A tenant principal with `lastCursor` gets an exact replay
   * of what its stream and its calls missed; otherwise (no cursor, or an all-tenants principal,
   * whose view has no cursor) the calls are subscribed afresh, with `call_data`, and an
   * all-tenants stream gets `reset` to reload.
   */
  const restore = async (delivery: SocketDelivery, resume: HandshakeResume): Promise<void> => {
    const { lastCursor } = resume;
    const exact = lastCursor !== undefined && delivery.channel.tenantId !== undefined;
    const calls: { tenantId: string; callId: string }[] = [];
    for (const call of resume.calls ?? []) {
      const tenantId = delivery.callTenant(call.tenantId);
      if (tenantId === undefined) continue;
      calls.push({ tenantId, callId: call.callId });
      // Followed before any read: a call whose read fails (the tracker's Redis down) stays
      // followed, since nobody is there to be told to subscribe again.
      delivery.addCall(tenantId, call.callId);
    }
    if (lastCursor !== undefined && (exact || resume.stream !== false)) {
      const stream = resume.stream === false ? undefined : createTypeMatcher(resume.types);
      await delivery.subscribeToCalls(lastCursor, stream);
    }
    if (exact) return;
    for (const { tenantId, callId } of calls) {
      // An unknown call (ended and forgotten since) is dropped, as `subscribe_to_call` would.
      // A failed read is reported as a handler's would be: an outage is no bug.
      await delivery.subscribeToCall(tenantId, callId).catch((error: unknown) => {
        if (toAckError(error).error.code === 'internal_error') onError(error, delivery.errorInfo);
      });
    }
  };

  /** Shared by every connection: Engine.IO calls it with `this` set to its socket, on each pong. */
  function onHeartbeat(this: Socket['conn']): void {
    for (const [socket, registration] of registrations.get(this) ?? []) {
      registration.heartbeat().then(
        () => heartbeats.worked(socket),
        (error: unknown) => heartbeats.failed(socket, error, connectionInfo(socket)),
      );
    }
  }

  const register = async (socket: Socket, principal: Principal, channel: CallChannel) => {
    await channel.ready;
    let registration: PresenceRegistration;
    try {
      registration = await (presence as ConnectionPresence).connect(principal, {
        connectionId: socket.id,
      });
    } catch (error) {
      const known = CallTrackError.isInstance(error);
      if (!known || error.status >= 500) onError(error, { socketId: socket.id, principal });
      socket.emit('presence_error', {
        code: known ? error.code : 'internal_error',
        message: known ? error.message : 'Presence could not register the connection',
      });
      return;
    }
    if (!deliveries.has(socket)) {
      // The socket left while it was being registered.
      registration
        .disconnect()
        .catch((error: unknown) => onError(error, { socketId: socket.id, principal }));
      return;
    }
    const engine = socket.conn;
    let sockets = registrations.get(engine);
    if (sockets === undefined) {
      sockets = new Map();
      registrations.set(engine, sockets);
      engine.on('heartbeat', onHeartbeat);
    }
    sockets.set(socket, registration);
  };

  const unregister = (socket: Socket): void => {
    const engine = socket.conn;
    const sockets = registrations.get(engine);
    const registration = sockets?.get(socket);
    if (sockets === undefined || registration === undefined) return;
    sockets.delete(socket);
    heartbeats.left(socket);
    if (sockets.size === 0) {
      registrations.delete(engine);
      engine.off('heartbeat', onHeartbeat);
    }
    const info = connectionInfo(socket);
    registration.disconnect().catch((error: unknown) => onError(error, info));
  };

  const detach = (socket: Socket, leaving: boolean): void => {
    const delivery = deliveries.get(socket);
    if (!delivery) return;
    deliveries.delete(socket);
    unregister(socket);
    context.sendBacklog.unwatch(socket.conn);
    for (const [event, listener] of listeners) socket.off(event, listener);
    socket.off('disconnect', onDisconnect);
    delivery.close();
    if (leaving) {
      const { principal } = delivery;
      socket.leave(delivery.channel.room ?? tenantRoom(principal.tenantId));
      if (principal.userId !== undefined)
        socket.leave(userRoom(principal.tenantId, principal.userId));
      delete (socket.data as { calltrack?: unknown }).calltrack;
    }
    channels.release(delivery.channel);
  };

  function onDisconnect(this: Socket): void {
    detach(this, false);
  }

  const onConnection = (socket: Socket): void => {
    const principal = (socket.data as { calltrack?: Principal }).calltrack;
    const resume = resumeRequests.get(socket);
    resumeRequests.delete(socket);
    if (closed || !principal) return;
    const channel = channels.acquire(
      principal.allTenants === true ? undefined : principal.tenantId,
    );
    socket.join(channel.room ?? tenantRoom(principal.tenantId));
    if (principal.userId !== undefined) socket.join(userRoom(principal.tenantId, principal.userId));
    const delivery = new SocketDelivery(context, socket, channel, principal);
    deliveries.set(socket, delivery);
    context.sendBacklog.watch(socket.conn);
    for (const [event, listener] of listeners) socket.on(event, listener);
    socket.on('disconnect', onDisconnect);
    const report = (error: unknown): void => onError(error, delivery.errorInfo);
    if (resume) {
      // A handshake resume has no acknowledgement: its failure is told as `resume_error`, the
      // error `subscribe_to_calls` would be acknowledged with (`unavailable` while Redis is
      // down past attachTimeoutMs), and reported only when it is unexpected, as there.
      restore(delivery, resume).catch((error: unknown) => {
        const { error: answer } = toAckError(error);
        if (answer.code === 'internal_error') report(error);
        socket.emit('resume_error', answer);
      });
    }
    if (presence !== undefined && principal.userId !== undefined) {
      delivery.registered = register(socket, principal, channel).catch(report);
    }
  };

  const authMiddleware = createAuthMiddleware({
    authenticate: options.authenticate,
    onError,
    maxFollowedCalls,
    resumeRequests,
    allowedOrigins,
  });
  namespace.use((socket, next) => {
    if (closed) next();
    else authMiddleware(socket, next);
  });
  namespace.on('connection', onConnection);

  return {
    namespace,
    async close() {
      if (closed) return;
      closed = true;
      namespace.off('connection', onConnection);
      for (const socket of [...deliveries.keys()]) detach(socket, true);
      channels.closeAll();
    },
  };
}

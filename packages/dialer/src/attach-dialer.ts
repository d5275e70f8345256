import { CallTrackError, InvalidArgumentError, type Principal } from '@calltrack/core';
import { parseAllowedOrigins, toError } from '@calltrack/core/internal';
import { type AuthenticateSocket, userRoom } from '@calltrack/socket.io';
import {
  authenticateHandshake,
  refuseConnection,
  refuseForeignOrigin,
} from '@calltrack/socket.io/internal';
import type { Namespace, Server, Socket } from 'socket.io';
import type { Dialer, DialerUserUpdate } from './dialer';
import { systemClock } from './dialer-clock';
import type {
  CallStartedPayload,
  CallStatusPayload,
  LeadsFetchedAck,
} from './dialer-socket-protocol';

/** Options of {@link attachDialer}. */
export interface AttachDialerOptions {
  dialer: Dialer;
  /**
   * Verifies a connection (a JWT in `handshake.auth.token`…) and returns who it is, with the
   * `userId` whose leads it may run; null refuses it. Skipped for a connection that
   * `attachCallTrack` (attached first, on the same namespace) has already authenticated.
   */
  authenticate: AuthenticateSocket;
  /** The namespace. Default `/`. */
  namespace?: string;
  /**
   * The only origins (`https://app.example`) whose pages may connect: a handshake whose `Origin`
   * header names another (or, without `Origin`, whose `Sec-Fetch-Site` is `cross-site` or
   * `same-site`) is refused (`connect_error` with `data.code: 'origin_not_allowed'`) before
   * `authenticate` runs; the rule of `attachCallTrack`'s option. Set it when `authenticate` reads a cookie: a browser sends it
   * with any page's WebSocket, and a connection can start the user's dialling runs. Default: any
   * origin. A connection `attachCallTrack` already let in on this namespace was checked by its
   * own `allowedOrigins`.
   */
  allowedOrigins?: readonly string[];
  /**
   * Unexpected errors (a failing follow, a throwing `authenticate`) and a `leads:fetched` that
   * failed with a 5xx (a Redis that cannot take the run's lease: `redis_unavailable`); a thrown
   * value that is not an `Error` arrives wrapped in one (its `cause`). Default `console.error`.
   */
  onError?: (error: Error) => void;
  /** Wait before following a user's updates again after the follow failed. Default 1,000 ms. */
  restartDelayMs?: number;
}

/** What {@link attachDialer} returns. */
export interface DialerSocketHandle {
  /** Stops following users' updates and answering `leads:fetched`; connections stay open. */
  close(): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: any Server, whatever its event maps.
type AnyServer = Server<any, any, any, any>;

interface Follower {
  sockets: number;
  stop: AbortController;
  /** Resolves once the user's bus subscription is live (or its first attempt failed). */
  live: Promise<void>;
  done: Promise<void>;
}

/**
 * The dialer over Socket.IO, as the seed had it: `leads:fetched` from an authenticated socket
 * starts a run of the signed-in user's pending leads, and the user's room (`userRoom(tenantId,
 * userId)` of `@calltrack/socket.io`, the one `attachCallTrack` joins too) gets `call:started`,
 * `call:status_updated` and `call:completed` for that user's leads only, in order, plus
 * `dialer:run_started`, `dialer:lead_skipped` (with the reason) and `dialer:run_finished`.
 *
 * Every process follows, from the bus (`dialer.followUser`), the users connected to it and
 * emits to its own sockets only (`namespace.local`): with a Redis adapter, nothing arrives twice.
 * The tenant and the user come from `authenticate`, never from the payload.
 *
 * @example
 * attachDialer(io, {
 *   dialer,
 *   authenticate: async (handshake) => {
 *     const { payload } = await jwtVerify(handshake.auth.token, secret);
 *     return { tenantId: String(payload.tenantId), userId: String(payload.sub) };
 *   },
 * });
 */
export function attachDialer(io: AnyServer, options: AttachDialerOptions): DialerSocketHandle {
  if (options == null || options.dialer == null || typeof options.authenticate !== 'function') {
    throw new InvalidArgumentError({ message: 'attachDialer needs { dialer, authenticate }.' });
  }
  const { dialer, authenticate } = options;
  const reportTo =
    options.onError ?? ((error: Error) => console.error('[calltrack/dialer]', error));
  const onError = (error: unknown): void => reportTo(toError(error));
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const allowedOrigins = parseAllowedOrigins('attachDialer', options.allowedOrigins);
  const namespace = io.of(options.namespace ?? '/') as Namespace;
  const followers = new Map<string, Follower>();
  let closed = false;

  const emitUpdate = (room: string, update: DialerUserUpdate): void => {
    const { event } = update;
    const data = event.data as Record<string, unknown>;
    const to = namespace.local.to(room);
    switch (update.type) {
      case 'call_placed': {
        // From `dialer.call_placed`, or from the call's first webhook when it came first.
        const runId =
          event.type === 'dialer.call_placed' ? (data as { runId?: string }).runId : undefined;
        const payload: CallStartedPayload = {
          leadId: update.leadId!,
          attemptId: update.attemptId!,
          ...(runId === undefined ? {} : { runId }),
          provider: event.provider,
          ...(event.callId === undefined ? {} : { callId: event.callId }),
          at: event.occurredAt,
        };
        to.emit('call:started', payload);
        return;
      }
      case 'call_status':
      case 'call_completed': {
        const payload: CallStatusPayload = {
          leadId: update.leadId!,
          attemptId: update.attemptId!,
          provider: event.provider,
          ...(event.callId === undefined ? {} : { callId: event.callId }),
          type: event.type,
          ...(event.status === undefined ? {} : { status: event.status }),
          at: event.occurredAt,
        };
        to.emit(
          update.type === 'call_completed' ? 'call:completed' : 'call:status_updated',
          payload,
        );
        return;
      }
      default:
        to.emit(`dialer:${update.type}`, data);
    }
  };

  const follow = async (
    principal: Required<Pick<Principal, 'tenantId' | 'userId'>>,
    signal: AbortSignal,
    onLive: () => void,
  ) => {
    const room = userRoom(principal.tenantId, principal.userId);
    while (!signal.aborted) {
      try {
        const updates = dialer.followUser({ ...principal, signal });
        updates.ready.then(onLive, onLive);
        for await (const update of updates) {
          emitUpdate(room, update);
        }
      } catch (error) {
        onLive();
        if (!signal.aborted) onError(error);
      }
      if (signal.aborted) return;
      // Takes its abort listener off again: a follow failing for hours restarts thousands of times.
      await systemClock.sleep(restartDelayMs, signal);
    }
  };

  const retain = (principal: Required<Pick<Principal, 'tenantId' | 'userId'>>): string => {
    const key = JSON.stringify([principal.tenantId, principal.userId]);
    const follower = followers.get(key);
    if (follower) {
      follower.sockets += 1;
      return key;
    }
    const stop = new AbortController();
    // The follow subscribes to the bus at once; `leads:fetched` waits until it is live (on a
    // Redis bus that takes a round trip), so the run's first event is not missed.
    let onLive: () => void = () => {};
    const live = new Promise<void>((resolve) => {
      onLive = resolve;
    });
    followers.set(key, { sockets: 1, stop, live, done: follow(principal, stop.signal, onLive) });
    return key;
  };

  const release = (key: string): void => {
    const follower = followers.get(key);
    if (!follower) return;
    follower.sockets -= 1;
    if (follower.sockets > 0) return;
    followers.delete(key);
    follower.stop.abort();
  };

  const middleware = (socket: Socket, next: (error?: Error) => void): void => {
    if (closed || (socket.data as { calltrack?: Principal }).calltrack !== undefined) {
      next();
      return;
    }
    // Before the credentials are looked at: a foreign page's handshake carries the user's cookie.
    const foreign = allowedOrigins && refuseForeignOrigin(socket, allowedOrigins);
    if (foreign) {
      next(foreign);
      return;
    }
    const run = async (): Promise<Error | undefined> => {
      const authenticated = await authenticateHandshake(socket, authenticate, onError);
      if ('refusal' in authenticated) return authenticated.refusal;
      (socket.data as { calltrack?: Principal }).calltrack = authenticated.principal;
      return undefined;
    };
    run().then(next, (error: unknown) => {
      onError(error);
      next(refuseConnection('Authentication failed', 'internal_error'));
    });
  };

  const onConnection = (socket: Socket): void => {
    const principal = (socket.data as { calltrack?: Principal }).calltrack;
    if (closed || principal === undefined) return;
    const { tenantId, userId } = principal;
    let key: string | undefined;
    if (userId !== undefined) {
      socket.join(userRoom(tenantId, userId));
      key = retain({ tenantId, userId });
      socket.once('disconnect', () => release(key!));
    }
    socket.on('leads:fetched', (payload: unknown, ack?: unknown) => {
      // The payload may be omitted: the ack is then the only argument.
      const answer = (
        typeof ack === 'function' ? ack : typeof payload === 'function' ? payload : undefined
      ) as ((answer: LeadsFetchedAck) => void) | undefined;
      const reply = (value: LeadsFetchedAck): void => answer?.(value);
      if (closed) {
        reply({ ok: false, error: { code: 'unavailable', message: 'The dialer is closed.' } });
        return;
      }
      if (userId === undefined) {
        reply({
          ok: false,
          error: {
            code: 'forbidden',
            message: 'The dialer works per user: this connection has no user.',
          },
        });
        return;
      }
      if (payload != null && typeof payload !== 'object' && typeof payload !== 'function') {
        reply({
          ok: false,
          error: {
            code: 'invalid_payload',
            message: 'leads:fetched: the payload must be an object or nothing.',
          },
        });
        return;
      }
      const live = followers.get(key!)?.live ?? Promise.resolve();
      live
        .then(() => dialer.trigger({ tenantId, userId }))
        .then(
          (result) =>
            reply(
              result.outcome === 'started'
                ? { ok: true, outcome: 'started', runId: result.runId }
                : { ok: true, outcome: 'follow_up_scheduled' },
            ),
          (error: unknown) => {
            // A backend that is down (a 5xx) is the operator's to know, as over HTTP.
            if (!CallTrackError.isInstance(error) || error.status >= 500) onError(error);
            reply({
              ok: false,
              error: CallTrackError.isInstance(error)
                ? { code: error.code, message: error.message }
                : { code: 'internal_error', message: 'Internal server error.' },
            });
          },
        );
    });
  };

  namespace.use(middleware);
  namespace.on('connection', onConnection);

  return {
    async close() {
      if (closed) return;
      closed = true;
      namespace.off('connection', onConnection);
      const stopping = [...followers.values()];
      followers.clear();
      for (const follower of stopping) follower.stop.abort();
      await Promise.all(stopping.map((follower) => follower.done));
    },
  };
}

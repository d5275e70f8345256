import {
  type CallEvent,
  type CallSnapshot,
  CallTrackError,
  type UserPresence,
} from '@calltrack/core';
import { CallTrackConnectionError } from './call-track-connection-error';
import type { CallTrackTransport } from './call-track-transport';
import { defaultRetryDelay, type RetryDelay, retryDelayMs } from './retry-delay';

/** socket.io-client's `auth` option: an object, or a function that sends one. */
// biome-ignore lint/suspicious/noExplicitAny: socket.io-client's own `auth` type
export type AuthOption = { [key: string]: any } | ((send: (data: object) => void) => void);

/** The part of a `socket.io-client` `Socket` the transport uses. */
export interface SocketLike {
  readonly connected: boolean;
  /** True while the socket reconnects by itself. */
  readonly active: boolean;
  /** What the handshake sends: compared between connects to notice new credentials. */
  readonly auth?: AuthOption;
  // biome-ignore lint/suspicious/noExplicitAny: socket.io-client's typed-event signatures vary
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: socket.io-client's typed-event signatures vary
  off(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: socket.io-client's typed-event signatures vary
  emit(event: string, ...args: any[]): unknown;
}

/** Options of {@link socketIoTransport}. */
export interface SocketIoTransportOptions {
  /**
   * A `socket.io-client` socket your app created (`io(url, { auth: { token } })`), connected to
   * a server with `attachCallTrack`. Its `auth` stays yours: change credentials the Socket.IO
   * way (`socket.auth.token = …`, or a new `socket.auth`, then reconnect).
   */
  socket: SocketLike;
  /**
   * How long to wait before subscribing again when the server could not start the stream (its
   * `subscribe_to_calls` acknowledgement says `ok: false`, e.g. the tracker failed to list the
   * calls, or `unavailable` while the server's Redis is down, with the wait the server asks for
   * as `retryAfterMs`): by default 1 s doubling up to 30 s, and at least what the server asks.
   * An `invalid_payload` (a cursor the server cannot read) or an `invalid_argument` (a request
   * the server refuses as bad) is not retried: it ends the connection with
   * `state.connection.error`.
   */
  retryDelay?: RetryDelay;
}

/** The acknowledgement of `subscribe_to_calls`. */
type SubscribeAck =
  | { ok: true }
  | { ok: false; error?: { code?: string; message?: string; retryAfterMs?: unknown } };

/**
 * Acknowledgement codes a repeat of the same `subscribe_to_calls` would get again (the protocol's
 * 4xx). Others pass: `unavailable` (Redis is down), `internal_error`, `too_many_subscriptions`
 * (a 429), and codes this client does not know.
 */
const refusedAckCodes = new Set(['invalid_payload', 'invalid_argument', 'not_found']);

/** The `Error` of a refused handshake: `data.code` is the server's reason (`unauthorized`…). */
type ConnectError = Error & { data?: { code?: unknown } };

/**
 * The credentials a handshake sent, as text; undefined when they cannot be told (a function
 * `auth` answers only when called, with a callback, and may fetch a token each time).
 */
function credentialsOf(socket: SocketLike): string | undefined {
  const { auth } = socket;
  if (auth === undefined || typeof auth === 'function') return undefined;
  try {
    return JSON.stringify(auth);
  } catch {
    return undefined;
  }
}

/**
 * Per socket, the `unsubscribe_from_calls` of a closed connection whose acknowledgement has not
 * come back yet: what the socket receives until then was sent for the closed subscription.
 */
const closingSubscriptions = new WeakMap<SocketLike, { pending: boolean }>();

/**
 * A transport over an `@calltrack/socket.io` server: `subscribe_to_calls` on every connect,
 * with `after` (the last cursor received) once it has one, so a reconnect gets exactly the
 * missed events; when that cursor is no position of the connection's stream (it left history,
 * or the credentials changed to another tenant) the server answers `reset`, and the transport
 * subscribes again for a fresh snapshot, as after a `refresh()`. When a connect sends other
 * credentials than the last one (an object `socket.auth` that changed), the store forgets what
 * it holds at once and the stream starts afresh, so the old tenant's calls never show beside the
 * new connection. A failed subscription is tried again after `retryDelay`; a refused handshake,
 * and a subscription refused as malformed (`invalid_payload`), end the connection with
 * `state.connection.error`.
 */
export function socketIoTransport(options: SocketIoTransportOptions): CallTrackTransport {
  const { socket } = options;
  const retryDelay = options.retryDelay ?? defaultRetryDelay;
  return {
    connect(sink) {
      let closed = false;
      /** The last cursor received: where the stream resumes on the next connect. */
      let lastCursor: string | undefined;
      /** What the last handshake that connected sent (see `credentialsOf`). */
      let credentials = credentialsOf(socket);
      /** A previous connection's unsubscribe in flight: until it is answered, ignore the stream. */
      const closing = closingSubscriptions.get(socket);
      const superseded = (): boolean => closing?.pending === true;
      /**
       * A handshake with other credentials (another user or tenant, maybe): what the store holds
       * may be another principal's. It forgets it now, and the stream starts afresh.
       */
      const noteCredentials = (): void => {
        const sent = credentialsOf(socket);
        if (sent === undefined || sent === credentials) return;
        const changed = credentials !== undefined;
        credentials = sent;
        if (!changed) return;
        lastCursor = undefined;
        sink.onCredentialsChange?.();
      };
      /** Bumped by every `subscribe_to_calls`: only the latest one's answer counts. */
      let requests = 0;
      /** Subscriptions the server failed in a row. */
      let failures = 0;
      let retryTimer: ReturnType<typeof setTimeout> | undefined;
      const cancelRetry = (): void => {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      };
      /** Starts the stream: resumes after `lastCursor`, or loads a snapshot without one. */
      const subscribe = (): void => {
        cancelRetry();
        // Emitted while disconnected, it would go out after the reconnect beside onConnect's.
        if (closed || !socket.connected) return;
        requests += 1;
        const request = requests;
        const payload = lastCursor === undefined ? {} : { after: lastCursor };
        socket.emit('subscribe_to_calls', payload, (answer: SubscribeAck | undefined) => {
          if (closed || request !== requests) return;
          if (answer?.ok === true) {
            failures = 0;
            // Open means live: the server has attached the stream.
            sink.onOpen();
            return;
          }
          // The server has no stream for this connection now (and sent no snapshot).
          const code = answer?.error?.code;
          if (code !== undefined && refusedAckCodes.has(code)) {
            // A request the server refuses as malformed (a cursor it cannot read) is refused
            // again when asked again: stop, and say why (the 4xx of the HTTP transports).
            stop(
              new CallTrackConnectionError({
                message: `The server refused subscribe_to_calls: ${answer?.error?.message ?? code}`,
                code,
                status: 400,
              }),
            );
            return;
          }
          failures += 1;
          const error = new CallTrackError({
            message: `subscribe_to_calls failed: ${answer?.error?.message ?? 'no answer'}`,
            code: answer?.error?.code ?? 'internal_error',
            status: 503,
          });
          sink.onClose(true);
          sink.onReloadError?.(error);
          // `unavailable` (the server's Redis is down) says how long to wait, as a 503's Retry-After.
          const asked = answer?.error?.retryAfterMs;
          const retryAfterMs = typeof asked === 'number' && asked >= 0 ? asked : undefined;
          retryTimer = setTimeout(subscribe, retryDelayMs(retryDelay, failures, retryAfterMs));
        });
      };
      /** Why the socket stopped reconnecting, while it has. */
      let stopped: CallTrackConnectionError | undefined;
      const stop = (error: CallTrackConnectionError | undefined): void => {
        stopped = error;
        sink.onClose(false, error);
      };
      /** A fresh snapshot: after a `reset`, or when the app asks. */
      const reload = (): void => {
        lastCursor = undefined;
        // A socket that stopped brings nothing: say so again (a pending refresh rejects).
        if (!socket.connected && !socket.active) stop(stopped);
        else subscribe();
      };
      const onConnect = (): void => {
        noteCredentials();
        subscribe();
      };
      const onDisconnect = (reason: string): void => {
        cancelRetry();
        // A new Engine.IO connection brings nothing of the closed subscription.
        if (closing) closing.pending = false;
        if (socket.active) {
          sink.onClose(true);
          return;
        }
        // Closed by the server (the app's own `disconnect()` is no error to show).
        const error =
          reason === 'io server disconnect'
            ? new CallTrackConnectionError({
                message: 'The server closed the connection',
                code: 'server_closed',
                status: 0,
              })
            : undefined;
        stop(error);
      };
      const onConnectError = (cause: ConnectError): void => {
        // A network failure: the socket keeps trying. A refused handshake: it stopped.
        if (socket.active) {
          sink.onClose(true);
          return;
        }
        // New credentials refused: what the store holds is still the old ones'.
        noteCredentials();
        const code = typeof cause?.data?.code === 'string' ? cause.data.code : 'connection_refused';
        const error = new CallTrackConnectionError({
          message: cause?.message || 'The server refused the connection',
          code,
          status: code === 'unauthorized' ? 401 : 0,
          cause,
        });
        stop(error);
      };
      const onActiveCalls = (payload: {
        calls: CallSnapshot[];
        complete?: unknown;
        cursor?: string;
      }): void => {
        if (superseded()) return;
        if (payload.cursor) lastCursor = payload.cursor;
        const { complete } = payload;
        sink.onSnapshot(payload.calls, typeof complete === 'boolean' ? complete : undefined);
      };
      const onMembers = (payload: {
        members: UserPresence[];
        complete?: unknown;
        cursor?: string;
      }): void => {
        if (superseded()) return;
        if (payload.cursor) lastCursor = payload.cursor;
        const { complete } = payload;
        sink.onPresenceSnapshot?.(
          payload.members,
          typeof complete === 'boolean' ? complete : undefined,
        );
      };
      const onMembersUnavailable = (payload: { reason?: string } | undefined): void => {
        if (superseded()) return;
        sink.onPresenceUnavailable?.(payload?.reason ?? 'unavailable');
      };
      const onUpdate = (payload: { cursor: string; event: CallEvent }): void => {
        if (superseded()) return;
        lastCursor = payload.cursor;
        sink.onEvent(payload.event, payload.cursor);
      };
      const onReset = (payload: { reason?: string } | undefined): void => {
        if (superseded()) return;
        lastCursor = undefined;
        sink.onReset(payload?.reason ?? 'reset');
      };
      const listeners: Array<[string, Parameters<SocketLike['on']>[1]]> = [
        ['connect', onConnect],
        ['disconnect', onDisconnect],
        ['connect_error', onConnectError],
        ['active_calls', onActiveCalls],
        ['presence_members', onMembers],
        ['presence_unavailable', onMembersUnavailable],
        ['call_update', onUpdate],
        ['reset', onReset],
      ];
      for (const [event, listener] of listeners) socket.on(event, listener);
      if (socket.connected) onConnect();
      return {
        reload,
        close() {
          closed = true;
          cancelRetry();
          for (const [event, listener] of listeners) socket.off(event, listener);
          if (!socket.connected) return;
          // What the server sent before it reads this was meant for this subscription: a
          // connection opened on the socket meanwhile ignores it until the answer comes back.
          const unsubscribing = { pending: true };
          closingSubscriptions.set(socket, unsubscribing);
          socket.emit('unsubscribe_from_calls', () => {
            unsubscribing.pending = false;
          });
        },
      };
    },
  };
}

import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import type { CallTrackTransport } from './call-track-transport';

type AuthData = Record<string, unknown>;
/** socket.io-client's `auth` option: an object, or a function that sends one. */
// biome-ignore lint/suspicious/noExplicitAny: socket.io-client's own `auth` type
export type AuthOption = { [key: string]: any } | ((send: (data: object) => void) => void);

/** The part of a `socket.io-client` `Socket` the transport uses. */
export interface SocketLike {
  readonly connected: boolean;
  /** True while the socket reconnects by itself. */
  readonly active: boolean;
  auth: AuthOption;
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
   * a server with `attachCallTrack`. The transport adds `lastCursor` to its `auth` so a
   * reconnect resumes exactly where it stopped.
   */
  socket: SocketLike;
}

/**
 * A transport over an `@calltrack/socket.io` server: `subscribe_to_calls` for the snapshot and
 * the stream, `auth.lastCursor` on reconnect for an exact resume, `subscribe_to_calls` again
 * after a `reset` or a `refresh()`.
 */
export function socketIoTransport(options: SocketIoTransportOptions): CallTrackTransport {
  const { socket } = options;
  return {
    connect(sink) {
      let lastCursor: string | undefined;
      const originalAuth = socket.auth;
      const withCursor = (data: object): AuthData => {
        const { lastCursor: _ignored, ...rest } = data as AuthData;
        return lastCursor ? { ...rest, lastCursor } : rest;
      };
      socket.auth =
        typeof originalAuth === 'function'
          ? (send) => originalAuth((data) => send(withCursor(data)))
          : (send) => send(withCursor(originalAuth ?? {}));
      const subscribe = (): void => {
        lastCursor = undefined;
        socket.emit('subscribe_to_calls', {}, () => {});
      };
      const onConnect = (): void => {
        sink.onOpen();
        // With a cursor in `auth`, the server resumed the stream already.
        if (!lastCursor) subscribe();
      };
      const onDisconnect = (): void => sink.onClose(socket.active);
      const onActiveCalls = (payload: {
        calls: CallSnapshot[];
        complete?: unknown;
        cursor?: string;
      }): void => {
        if (payload.cursor) lastCursor = payload.cursor;
        const { complete } = payload;
        sink.onSnapshot(payload.calls, typeof complete === 'boolean' ? complete : undefined);
      };
      const onMembers = (payload: { members: UserPresence[]; cursor?: string }): void => {
        if (payload.cursor) lastCursor = payload.cursor;
        sink.onPresenceSnapshot?.(payload.members);
      };
      const onUpdate = (payload: { cursor: string; event: CallEvent }): void => {
        lastCursor = payload.cursor;
        sink.onEvent(payload.event, payload.cursor);
      };
      const onReset = (payload: { reason?: string } | undefined): void => {
        lastCursor = undefined;
        sink.onReset(payload?.reason ?? 'reset');
      };
      socket.on('connect', onConnect);
      socket.on('disconnect', onDisconnect);
      socket.on('active_calls', onActiveCalls);
      socket.on('presence_members', onMembers);
      socket.on('call_update', onUpdate);
      socket.on('reset', onReset);
      if (socket.connected) onConnect();
      return {
        reload: subscribe,
        close() {
          socket.off('connect', onConnect);
          socket.off('disconnect', onDisconnect);
          socket.off('active_calls', onActiveCalls);
          socket.off('presence_members', onMembers);
          socket.off('call_update', onUpdate);
          socket.off('reset', onReset);
          socket.auth = originalAuth;
          if (socket.connected) socket.emit('unsubscribe_from_calls', () => {});
        },
      };
    },
  };
}

import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import type { CallTrackConnectionError } from './call-track-connection-error';

/** What a transport reports to the client store. */
export interface CallTrackTransportSink {
  /** The connection is open (first time or after a reconnect). */
  onOpen(): void;
  /**
   * The connection dropped; `reconnecting` says whether the transport is retrying by itself.
   * When it is not, `error` says why it stopped (a refusal such as a 401), for the UI
   * (`state.connection.error`); leave it out when the app itself closed the connection.
   */
  onClose(reconnecting: boolean, error?: CallTrackConnectionError): void;
  /**
   * A full list of the active calls (replaces what the store holds). `complete` is what the
   * server says of it: `true` when it lists every active call (one it does not list is not
   * active), `false` when it was cut at the server's limit (one it does not list may be active).
   * Leave it out when the server does not say (a server from before the marker): the store then
   * takes a snapshot of 1,000 calls or more (the servers' default limit) as possibly cut.
   */
  onSnapshot(calls: readonly CallSnapshot[], complete?: boolean): void;
  /**
   * The presence members (optional for transports: servers with `presence` send them), of the
   * tenant or, on a stream of every tenant, of every tenant; the `presence.*` events that follow
   * are applied on top. `complete` is what the server says of them (false: its limit left users
   * out); leave it out when it does not say.
   */
  onPresenceSnapshot?(members: readonly UserPresence[], complete?: boolean): void;
  /**
   * The server sends no presence members on this stream (optional for transports): it streams
   * every tenant (`reason: 'all-tenants'`) and its presence cannot list them. The store then
   * holds no `presence.*` event and says presence is not available
   * (`state.presence.isAvailable`).
   */
  onPresenceUnavailable?(reason: string): void;
  /** One live call event, with its bus cursor when the transport carries it. */
  onEvent(event: CallEvent, cursor?: string): void;
  /** Events were missed and cannot be replayed: the store reloads the snapshot. */
  onReset(reason: string): void;
  /**
   * The connection now speaks with other credentials (optional for transports to call): what the
   * store holds may be another user's or tenant's, so it forgets it at once (calls, watched calls,
   * presence, alerts, the last event) and waits for the next snapshot.
   */
  onCredentialsChange?(): void;
  /**
   * Loading the snapshot failed (optional for transports to call): a pending `refresh()` then
   * rejects at once instead of waiting for its timeout.
   */
  onReloadError?(error: unknown): void;
}

/** One live connection of a transport. */
export interface CallTrackConnection {
  /**
   * Loads the active calls again; the transport answers through `sink.onSnapshot`. `reason` is
   * `reset` after the server said events were missed, `refresh` when the app asked.
   */
  reload(reason: 'reset' | 'refresh'): void;
  /** Closes the connection for good. */
  close(): void;
}

/**
 * How the client store talks to a server: `sseTransport`, `socketIoTransport`,
 * `trpcTransport`, or your own object with the same shape.
 */
export interface CallTrackTransport {
  /** Opens the connection and reports to `sink` until the returned connection is closed. */
  connect(sink: CallTrackTransportSink): CallTrackConnection;
}

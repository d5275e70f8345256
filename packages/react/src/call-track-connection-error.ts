import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_ConnectionError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Why a transport stopped for good: the server refused the connection (`unauthorized` 401,
 * `forbidden` 403, or the code a Socket.IO server's refusal carries) or closed it
 * (`server_closed`). It is `state.connection.error` (and `useConnectionState().error`) until
 * the connection opens again: show it, e.g. "Signed out: sign in again". `status` is the HTTP
 * status when one is known, else 0; `cause` is the transport's own error, when it gave one.
 */
export class CallTrackConnectionError extends CallTrackError {
  private readonly [symbol] = true;

  constructor(options: { message: string; code: string; status: number; cause?: unknown }) {
    super(options);
    this.name = name;
  }

  /** True when `error` is a {@link CallTrackConnectionError}, from any copy of this package. */
  static override isInstance(error: unknown): error is CallTrackConnectionError {
    return CallTrackError.hasMarker(error, marker);
  }
}

/**
 * The error of a refused stream request: for a 401 or a 403, and for a 204 (the server's way to
 * say "do not reconnect" to an `EventSource`); else undefined (worth a retry).
 */
export function refusedConnection(
  status: number | undefined,
  cause: unknown,
): CallTrackConnectionError | undefined {
  if (status === 204) {
    return new CallTrackConnectionError({
      message: 'The server ended the stream and asked not to reconnect (204)',
      code: 'server_closed',
      status,
      cause,
    });
  }
  if (status === 401) {
    return new CallTrackConnectionError({
      message: 'The server refused the connection: not signed in (401)',
      code: 'unauthorized',
      status,
      cause,
    });
  }
  if (status === 403) {
    return new CallTrackConnectionError({
      message: 'The server refused the connection: not allowed (403)',
      code: 'forbidden',
      status,
      cause,
    });
  }
  return undefined;
}

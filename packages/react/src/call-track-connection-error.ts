import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_ConnectionError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * Why a transport stopped for good: the server refused the connection (`unauthorized` 401,
 * `forbidden` 403, `rejected` for another 4xx that a retry would get again, such as a 400 for a
 * malformed filter, or the code a Socket.IO server's refusal carries) or closed it
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
 * The error of a refused stream request, for an answer a retry would not change: a 401 or a 403,
 * any other 4xx (`rejected`: a malformed filter or cursor, a route that is not there) but 408
 * (timeout) and 429 (too many), which pass, and 499 (the client's own abort), and a 204 (the
 * server's way to say "do not reconnect" to an `EventSource`); else undefined (worth a retry:
 * 5xx, 408, 429, no status).
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
  if (isFinalClientError(status)) {
    return new CallTrackConnectionError({
      message: `The server rejected the stream request (${status}); it would again`,
      code: 'rejected',
      status,
      cause,
    });
  }
  return undefined;
}

/** A 4xx that the same request would get again: not 408, 429 (they pass) nor 499 (our abort). */
function isFinalClientError(status: number | undefined): status is number {
  return (
    status !== undefined &&
    status >= 400 &&
    status < 500 &&
    status !== 408 &&
    status !== 429 &&
    status !== 499
  );
}

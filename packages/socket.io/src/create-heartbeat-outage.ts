import type { Clock } from '@calltrack/core';
import { createHeartbeatOutage as followHeartbeats } from '@calltrack/core/internal';
import type { CallTrackSocketErrorInfo, ReportError } from './call-track-socket-error-info';

/**
 * The presence heartbeats of an `attachCallTrack` (one per connection on each Engine.IO pong),
 * followed by core's heartbeat outage rule (one report when Redis fails them, one when every
 * connection heartbeats again; a bug every time) and reported to `onError` with the socket's info.
 */
export interface HeartbeatOutage {
  /** `connection`'s heartbeat failed with `error`. */
  failed(connection: object, error: unknown, info: CallTrackSocketErrorInfo): void;
  /** `connection`'s heartbeat worked. */
  worked(connection: object): void;
  /** `connection` left: it heartbeats no more. */
  left(connection: object): void;
}

/** Follows the presence heartbeats of one `attachCallTrack`, reporting to `onError`. */
export function createHeartbeatOutage(onError: ReportError, clock?: Clock): HeartbeatOutage {
  const outage = followHeartbeats({
    back: 'Presence heartbeats of the Socket.IO connections work again',
    ...(clock === undefined ? {} : { clock }),
  });
  return {
    failed(connection, error, info) {
      if (outage.failed(connection, error)) onError(error, info);
    },
    worked(connection) {
      const back = outage.worked(connection);
      if (back) onError(new Error(back));
    },
    left: (connection) => outage.left(connection),
  };
}

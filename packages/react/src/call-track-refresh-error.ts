import { CallTrackError } from '@calltrack/core';

const name = 'CallTrack_RefreshError';
const marker = `calltrack.error.${name}`;
const symbol = Symbol.for(marker);

/** Why a `refresh()` failed. */
export type CallTrackRefreshFailure = 'closed' | 'timeout' | 'failed';

/**
 * The rejection of `client.refresh()` (and `useActiveCalls().refresh`) when no snapshot was
 * applied. `code` is `refresh_failed` and `status` 503 whatever the `reason`:
 *
 * - `closed`: the connection closed before the snapshot (the last `connect()` was undone, or the
 *   transport gave up);
 * - `timeout`: no snapshot came within `timeoutMs` (e.g. an SSE endpoint without a tracker);
 * - `failed`: the transport could not load it (the transport's error is the `cause`).
 */
export class CallTrackRefreshError extends CallTrackError {
  private readonly [symbol] = true;
  /** Why no snapshot was applied. */
  readonly reason: CallTrackRefreshFailure;

  constructor({
    reason,
    message,
    cause,
  }: {
    reason: CallTrackRefreshFailure;
    message: string;
    cause?: unknown;
  }) {
    super({ message, code: 'refresh_failed', status: 503, cause });
    this.name = name;
    this.reason = reason;
  }

  /** True when `error` is a {@link CallTrackRefreshError}, from any copy of this package. */
  static override isInstance(error: unknown): error is CallTrackRefreshError {
    return CallTrackError.hasMarker(error, marker);
  }
}

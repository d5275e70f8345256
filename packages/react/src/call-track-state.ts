import type { CallEvent } from '@calltrack/core';
import type { ActiveCall } from './active-call';

/** The connection, as `useConnectionState` returns it. */
export interface CallTrackConnectionState {
  /** True while the transport's connection is open. */
  isConnected: boolean;
  /** True while the transport is retrying after a drop. */
  reconnecting: boolean;
  /** The last call event received. */
  lastEvent: CallEvent | undefined;
  /** The bus cursor of the last call event received, when the transport carries it. */
  lastCursor: string | undefined;
}

/**
 * Everything the client store holds; immutable, replaced on every change (so it works with
 * `useSyncExternalStore`).
 */
export interface CallTrackState {
  connection: CallTrackConnectionState;
  /** The active calls, newest first (by `startedAt`/`createdAt`, as the server sent them). */
  activeCalls: readonly ActiveCall[];
  /**
   * Calls a component watches (`watchCall` / `useCall`), by call id: kept after they end, while
   * they are watched. Undefined until the call is known.
   */
  watchedCalls: ReadonlyMap<string, ActiveCall | undefined>;
  /** True once a snapshot of the active calls has arrived. */
  hasSnapshot: boolean;
}

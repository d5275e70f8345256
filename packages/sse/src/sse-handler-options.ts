import type { EventBus } from '@calltrack/bus';
import type { SseAuthenticate, SsePrincipal } from './sse-principal';
import type { SseQuery } from './sse-query';

/**
 * Where snapshots come from: a `CallTracker` from `@calltrack/tracker` (only `listActiveCalls` is
 * used), or anything with the same method.
 */
export interface SseSnapshotSource {
  /** The tenant's active calls (`TrackedCall[]`), newest first. */
  listActiveCalls(
    tenantId: string,
    options?: { branchId?: string; limit?: number },
  ): Promise<ReadonlyArray<{ callId: string }>>;
}

/** Why a stream ended, as `onClose` reports it. */
export type SseCloseReason =
  /** The client went away (closed the tab, lost the network) or the response was cancelled. */
  | 'client-closed'
  /** The client read too slowly and the bus cut it off; it reconnects and resumes. */
  | 'lagged'
  /** The bus was closed (shutdown). */
  | 'bus-closed'
  /** Something failed (the snapshot, the bus); reported to `onError` too. */
  | 'error';

/** One stream, as the hooks see it. */
export interface SseStreamInfo {
  /** What `authenticate` returned. */
  principal: SsePrincipal;
  /** The stream's filters and resume cursor. */
  query: SseQuery;
}

/** What `onClose` reports. */
export interface SseCloseInfo extends SseStreamInfo {
  reason: SseCloseReason;
  /** Call events written to this stream (snapshots, resets and pings not counted). */
  delivered: number;
}

/** Options of `createSseHandler` and `createSseNodeHandler`. */
export interface SseHandlerOptions {
  /** The event bus to stream from (only `subscribe` is used; the handler never closes it). */
  bus: Pick<EventBus, 'subscribe'>;
  /**
   * The call tracker: when given, a fresh stream (and a stream after a `reset`) starts with a
   * `snapshot` event holding the active calls, so the client needs no separate request.
   */
  tracker?: SseSnapshotSource;
  /** Resolves the caller; the stream's tenant comes from here and nowhere else. */
  authenticate: SseAuthenticate;
  /**
   * A `: ping` comment goes to every stream that sent nothing for this long, so proxies (nginx
   * closes idle upstreams after 60 s) keep it open. One shared, `unref()`ed timer serves every
   * stream of the handler. Default 15,000 ms; 0 turns it off.
   */
  keepAliveMs?: number;
  /**
   * The reconnection delay sent to clients (`retry:`) at the start of each stream, plus a random
   * 0–50 % so a restarted server is not hit by every client at once. Default 3,000 ms.
   */
  retryMs?: number;
  /** Most active calls in a snapshot (the tracker's `limit`, 1–10,000). Default 1,000. */
  snapshotLimit?: number;
  /** Most `callId` filters on one stream. Default 100. */
  maxCallIds?: number;
  /**
   * Most bus messages held for one client whose socket is full. Past it the stream ends (reason
   * `lagged`; a Node handler drops the connection) and the client resumes from its last event
   * id. This, the socket's own buffer and the bus's `maxBufferedMessages` bound the memory a slow
   * client can hold. Default 1,000.
   */
  maxBufferedEvents?: number;
  /**
   * Called when a stream is live: authenticated, and its bus subscription attached (events
   * published from now on reach it), before the snapshot is loaded.
   */
  onOpen?: (info: SseStreamInfo) => void;
  /** Called once when a stream ends, after its bus subscription has ended. */
  onClose?: (info: SseCloseInfo) => void;
  /**
   * Unexpected failures: `authenticate` throwing something that is not a `CallTrackError`, a
   * snapshot or bus failure mid-stream. Default `console.error`.
   */
  onError?: (error: unknown, info?: SseStreamInfo) => void;
}

import type { CallEvent } from '@calltrack/core';
import type { ActiveCall } from './active-call';
import { type CallEventFilter, matchesCallEventFilter } from './call-event-filter';
import type { CallTrackState } from './call-track-state';
import type {
  CallTrackConnection,
  CallTrackTransport,
  CallTrackTransportSink,
} from './call-track-transport';

/** Options of {@link createCallTrackClient}. */
export interface CallTrackClientOptions {
  /** Where events come from: `sseTransport`, `socketIoTransport` or `trpcTransport`. */
  transport: CallTrackTransport;
  /** Errors thrown by event listeners. Default `console.error`. */
  onError?: (error: unknown) => void;
}

/** Options of {@link CallTrackClient.refresh}. */
export interface CallTrackRefreshOptions {
  /** How long to wait for the snapshot, in milliseconds. Default 10,000. */
  timeoutMs?: number;
}

/** Why a {@link CallTrackClient.refresh} failed. */
export type CallTrackRefreshFailure = 'closed' | 'timeout' | 'failed';

/** The rejection of {@link CallTrackClient.refresh} when no snapshot arrived. */
export class CallTrackRefreshError extends Error {
  override readonly name = 'CallTrackRefreshError';
  /**
   * `closed`: the connection closed before the snapshot; `timeout`: none came in time;
   * `failed`: the transport could not load it (the error is the `cause`).
   */
  readonly reason: CallTrackRefreshFailure;

  constructor(reason: CallTrackRefreshFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

const defaultRefreshTimeoutMs = 10_000;

interface PendingRefresh {
  resolve(): void;
  reject(error: CallTrackRefreshError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A call event listener; `cursor` is the event's bus cursor when the transport carries it. */
export type CallEventListener = (event: CallEvent, cursor: string | undefined) => void;

/**
 * The framework-free client store: connection state, the active calls (snapshot plus live
 * updates) and event listeners. The React hooks are thin views over it; use it directly from
 * any other framework.
 */
export interface CallTrackClient {
  /** The current state; the same object until something changes. */
  getSnapshot(): CallTrackState;
  /** Calls `listener` after every state change; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void;
  /** Calls `listener` for every call event matching `filter`; returns the unsubscribe function. */
  onEvent(listener: CallEventListener, filter?: CallEventFilter): () => void;
  /**
   * Opens the transport's connection (reference counted: the connection closes when every
   * `connect()` has been undone by calling the function it returned).
   */
  connect(): () => void;
  /**
   * Reloads the active calls. Resolves once the new snapshot is applied, and at once when the
   * client is not connected (there is nothing to reload). Never hangs: rejects with a
   * {@link CallTrackRefreshError} when the connection closes first (`reason: 'closed'`: the last
   * `connect()` was undone, or the transport gave up) or when no snapshot arrives within
   * `timeoutMs` (`reason: 'timeout'`, e.g. an SSE endpoint without a tracker never sends one).
   */
  refresh(options?: CallTrackRefreshOptions): Promise<void>;
  /**
   * Keeps `callId`'s latest state in `state.watchedCalls`, even after the call ends, until the
   * returned function is called (reference counted).
   */
  watchCall(callId: string): () => void;
}

const maxTombstones = 1_000;

function eventCall(event: CallEvent): ActiveCall | undefined {
  const call = (event.data as { call?: unknown } | undefined)?.call;
  if (call && typeof call === 'object' && typeof (call as ActiveCall).callId === 'string') {
    const candidate = call as ActiveCall;
    if (typeof candidate.version === 'number') return candidate;
  }
  return undefined;
}

function newestFirst(a: ActiveCall, b: ActiveCall): number {
  const left = String(a.startedAt ?? a.createdAt ?? '');
  const right = String(b.startedAt ?? b.createdAt ?? '');
  return left < right ? 1 : left > right ? -1 : 0;
}

/**
 * Creates the client store over a transport. Nothing connects until `connect()` (which
 * `CallTrackProvider` calls when it mounts), so creating it during server rendering is safe.
 *
 * @example
 * const client = createCallTrackClient({ transport: sseTransport({ url: '/api/events' }) });
 */
export function createCallTrackClient(options: CallTrackClientOptions): CallTrackClient {
  const { transport } = options;
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  const listeners = new Set<() => void>();
  const eventListeners = new Set<{ listener: CallEventListener; filter?: CallEventFilter }>();
  const calls = new Map<string, ActiveCall>();
  /** Call id → version at which it ended, so an older snapshot cannot bring it back. */
  const tombstones = new Map<string, number>();
  /** Calls changed by live events since the last reload began. */
  let touchedSinceReload = new Set<string>();
  const watched = new Map<string, { count: number; call: ActiveCall | undefined }>();
  const pendingRefreshes = new Set<PendingRefresh>();
  /** Settles every pending `refresh()` (resolved when `error` is undefined). */
  const settleRefreshes = (error?: CallTrackRefreshError): void => {
    const pending = [...pendingRefreshes];
    pendingRefreshes.clear();
    for (const entry of pending) {
      clearTimeout(entry.timer);
      if (error) entry.reject(error);
      else entry.resolve();
    }
  };
  let connection: CallTrackConnection | undefined;
  let connectCount = 0;

  let state: CallTrackState = {
    connection: {
      isConnected: false,
      reconnecting: false,
      lastEvent: undefined,
      lastCursor: undefined,
    },
    activeCalls: [],
    watchedCalls: new Map(),
    hasSnapshot: false,
  };

  const emit = (): void => {
    for (const listener of [...listeners]) {
      try {
        listener();
      } catch (error) {
        onError(error);
      }
    }
  };
  const publishCalls = (): CallTrackState['activeCalls'] => [...calls.values()].sort(newestFirst);
  const publishWatched = (): CallTrackState['watchedCalls'] =>
    new Map([...watched].map(([callId, entry]) => [callId, entry.call]));

  const remember = (call: ActiveCall): void => {
    const entry = watched.get(call.callId);
    if (entry && (!entry.call || entry.call.version <= call.version)) entry.call = call;
  };

  /** Applies one call snapshot; true when it changed the active calls. */
  const applyCall = (call: ActiveCall, ended: boolean): boolean => {
    remember(call);
    const endedAt = tombstones.get(call.callId);
    if (endedAt !== undefined && endedAt >= call.version) return false;
    const current = calls.get(call.callId);
    if (current && current.version >= call.version) return false;
    if (ended || call.active === false) {
      calls.delete(call.callId);
      tombstones.set(call.callId, call.version);
      if (tombstones.size > maxTombstones) {
        const oldest = tombstones.keys().next().value;
        if (oldest !== undefined) tombstones.delete(oldest);
      }
      return current !== undefined;
    }
    calls.set(call.callId, call);
    return true;
  };

  const startReload = (): void => {
    touchedSinceReload = new Set();
  };

  const sink: CallTrackTransportSink = {
    onOpen() {
      state = {
        ...state,
        connection: { ...state.connection, isConnected: true, reconnecting: false },
      };
      emit();
    },
    onClose(reconnecting) {
      state = {
        ...state,
        connection: { ...state.connection, isConnected: false, reconnecting },
      };
      emit();
      // A transport that retries may still deliver the snapshot; one that gave up will not.
      if (!reconnecting) {
        settleRefreshes(
          new CallTrackRefreshError('closed', 'refresh: the connection closed before the snapshot'),
        );
      }
    },
    onReloadError(error) {
      settleRefreshes(
        new CallTrackRefreshError('failed', 'refresh: the snapshot could not be loaded', {
          cause: error,
        }),
      );
    },
    onSnapshot(snapshot) {
      const previous = new Map(calls);
      calls.clear();
      for (const call of snapshot) {
        remember(call);
        const endedAt = tombstones.get(call.callId);
        if (endedAt !== undefined && endedAt >= call.version) continue;
        if (call.active === false) continue;
        const current = previous.get(call.callId);
        calls.set(call.callId, current && current.version > call.version ? current : call);
      }
      // Calls that live events brought in while the snapshot was loading stay.
      for (const callId of touchedSinceReload) {
        const current = previous.get(callId);
        if (current && !calls.has(callId)) calls.set(callId, current);
      }
      state = {
        ...state,
        activeCalls: publishCalls(),
        watchedCalls: publishWatched(),
        hasSnapshot: true,
      };
      emit();
      settleRefreshes();
    },
    onEvent(event, cursor) {
      const call = eventCall(event);
      const ended = event.type === 'call.ended';
      let changed = false;
      if (call) {
        touchedSinceReload.add(call.callId);
        changed = applyCall(call, ended);
      } else if (ended && event.callId !== undefined && calls.has(event.callId)) {
        calls.delete(event.callId);
        changed = true;
      }
      state = {
        ...state,
        connection: {
          ...state.connection,
          lastEvent: event,
          lastCursor: cursor ?? state.connection.lastCursor,
        },
        ...(changed ? { activeCalls: publishCalls() } : {}),
        ...(call && watched.has(call.callId) ? { watchedCalls: publishWatched() } : {}),
      };
      emit();
      for (const entry of [...eventListeners]) {
        if (!matchesCallEventFilter(entry.filter, event)) continue;
        try {
          entry.listener(event, cursor);
        } catch (error) {
          onError(error);
        }
      }
    },
    onReset() {
      startReload();
      connection?.reload('reset');
    },
  };

  return {
    getSnapshot: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    onEvent(listener, filter) {
      const entry = filter === undefined ? { listener } : { listener, filter };
      eventListeners.add(entry);
      return () => {
        eventListeners.delete(entry);
      };
    },
    connect() {
      connectCount += 1;
      if (!connection) connection = transport.connect(sink);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        connectCount -= 1;
        if (connectCount > 0 || !connection) return;
        const closing = connection;
        connection = undefined;
        closing.close();
        state = {
          ...state,
          connection: { ...state.connection, isConnected: false, reconnecting: false },
        };
        emit();
        settleRefreshes(
          new CallTrackRefreshError(
            'closed',
            'refresh: the client disconnected before the snapshot',
          ),
        );
      };
    },
    refresh(refreshOptions) {
      if (!connection) return Promise.resolve();
      const timeoutMs = refreshOptions?.timeoutMs ?? defaultRefreshTimeoutMs;
      const done = new Promise<void>((resolve, reject) => {
        const entry: PendingRefresh = {
          resolve,
          reject,
          timer: setTimeout(() => {
            pendingRefreshes.delete(entry);
            reject(
              new CallTrackRefreshError('timeout', `refresh: no snapshot within ${timeoutMs} ms`),
            );
          }, timeoutMs),
        };
        pendingRefreshes.add(entry);
      });
      startReload();
      connection.reload('refresh');
      return done;
    },
    watchCall(callId) {
      const entry = watched.get(callId) ?? { count: 0, call: calls.get(callId) };
      entry.count += 1;
      watched.set(callId, entry);
      state = { ...state, watchedCalls: publishWatched() };
      emit();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        entry.count -= 1;
        if (entry.count > 0) return;
        watched.delete(callId);
        state = { ...state, watchedCalls: publishWatched() };
        emit();
      };
    },
  };
}

import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';
import { callKey, createActiveCallsReconciler } from './active-calls-reconciler';
import { type CallEventFilter, matchesCallEventFilter } from './call-event-filter';
import { CallTrackApiError } from './call-track-api-error';
import type { CallTrackConnectionError } from './call-track-connection-error';
import { CallTrackRefreshError } from './call-track-refresh-error';
import type {
  CallTrackPresenceState,
  CallTrackState,
  CallTrackTenantPresence,
} from './call-track-state';
import type {
  CallTrackConnection,
  CallTrackTransport,
  CallTrackTransportSink,
} from './call-track-transport';
import {
  type CallTrackApi,
  type CallTrackApiOptions,
  createCallTrackApi,
} from './create-call-track-api';
import { createPresenceReconciler, presenceOfEvent } from './presence-reconciler';

/** Options of {@link createCallTrackClient}. */
export interface CallTrackClientOptions {
  /** Where events come from: `sseTransport`, `socketIoTransport` or `trpcTransport`. */
  transport: CallTrackTransport;
  /**
   * The tracker's HTTP API (`createTrackerHandler`), for `useCallControl` and `useAnalytics`, and
   * to re-read a watched call that may have ended unseen (see `watchCall`): its base
   * (`{ baseUrl: '/api' }`), and optionally `fetch`, `headers` and `credentials`.
   */
  api?: CallTrackApiOptions;
  /** How many alerts `state.alerts` keeps (newest first). Default 50. */
  maxAlerts?: number;
  /**
   * Errors thrown by event listeners, and failed re-reads of watched calls; a thrown value that is
   * not an `Error` arrives wrapped in one (its `cause`). Default `console.error`.
   */
  onError?: (error: Error) => void;
  /**
   * The signed-in user's id (the `userId` of the principal your server authenticates): what
   * `usePresence()` without an argument shows.
   */
  userId?: string;
  /**
   * How long users who went offline stay in `state.presence` (as `offline`: `users`, `byTenant`,
   * `usePresence`): `offlineRetentionMs` after the client saw them go (default 300,000, five
   * minutes), at most `maxOfflineUsers` of them (default 1,000; the longest offline go first).
   * They are dropped at the next presence change after that. A dropped user reads as one
   * presence never reported: `usePresence` gives `status` `offline` and `presence` undefined.
   */
  presence?: { offlineRetentionMs?: number; maxOfflineUsers?: number };
  /** The clock `presence.offlineRetentionMs` is measured on. Default the system's (`Date.now`). */
  clock?: { now(): number };
}

/** Options of {@link CallTrackClient.refresh}. */
export interface CallTrackRefreshOptions {
  /** How long to wait for the snapshot, in milliseconds. Default 10,000. */
  timeoutMs?: number;
}

const defaultRefreshTimeoutMs = 10_000;

interface PendingRefresh {
  resolve(): void;
  reject(error: CallTrackRefreshError): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * One watched call: its id and, when the watch named one, its tenant; how many watch it, its
 * newest snapshot, and its re-reads so far. A watch without a tenant takes the call of that id
 * in the tenant of the snapshot it holds, or in any tenant while it holds none (a single-tenant
 * client sees one tenant).
 */
interface WatchedCall {
  callId: string;
  tenantId: string | undefined;
  count: number;
  call: CallSnapshot | undefined;
  /** Bumped by every re-read, so only the latest one's answer applies. */
  reads: number;
}

/** Options of {@link CallTrackClient.watchCall} and `useCall`. */
export interface WatchCallOptions {
  /**
   * The call's tenant, for a client that sees every tenant (a principal with `allTenants`): two
   * tenants' calls may have the same provider id. Leave it out when the client sees one tenant.
   */
  tenantId?: string;
}

/**
 * The key of a watch in the client's map: the call's key in its tenant, or with the empty tenant
 * (no tenant id is empty) for a watch without a tenant.
 */
function watchKey(callId: string, tenantId: string | undefined): string {
  return callKey(tenantId ?? '', callId);
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
   * `connect()` was undone, or the transport gave up), when the transport could not load the
   * snapshot (`reason: 'failed'`), or when no snapshot arrives within `timeoutMs`
   * (`reason: 'timeout'`, e.g. an SSE endpoint without a tracker never sends one).
   */
  refresh(options?: CallTrackRefreshOptions): Promise<void>;
  /**
   * Keeps `callId`'s latest state in `state.watchedCalls`, even after the call ends, until the
   * returned function is called (reference counted). The state shows a new watch, and the end
   * of one, on the next microtask: watches made together (a list of `useCall` rows mounting)
   * are one state change.
   *
   * A client that sees every tenant (an `allTenants` principal) may hold two tenants' calls with
   * the same id: pass the call's tenant (`watchCall(callId, { tenantId })`), and its state is in
   * `state.watchedCallsByTenant` instead. A watch without a tenant follows the call of that id in
   * the tenant of the first snapshot it holds.
   *
   * A watched call held as active that a new snapshot of the active calls no longer lists (and
   * no live event touched meanwhile) may have ended while events were missed (a reset, or while
   * the connection was closed: the first snapshot of each connection is a reload). It is
   * then read again through `api` (`GET /calls/active/:callId`, naming the call's tenant when the
   * principal reads every tenant) when the client has one; without `api`, or when the tracker
   * does not know it or the read fails, its state becomes undefined (no longer known) instead of
   * staying active. Its next event brings it back. Without `api`, a snapshot the server says was
   * cut at its limit (`complete: false`) proves nothing: the call keeps its last state. (A
   * snapshot that says nothing, from a server before that marker, counts as cut from 1,000 calls,
   * the servers' default limit.)
   */
  watchCall(callId: string, options?: WatchCallOptions): () => void;
  /** The tracker's HTTP API, when the client was given `api`; otherwise undefined. */
  readonly api: CallTrackApi | undefined;
  /** Removes one alert (by event id) from `state.alerts`; it does not come back. */
  dismissAlert(id: string): void;
  /** Removes every alert from `state.alerts`. */
  clearAlerts(): void;
}

const defaultMaxAlerts = 50;
/**
 * The servers' default snapshot limit: a snapshot that does not say whether it is complete (from
 * a server before `complete`) counts as possibly cut from this many calls.
 */
const assumedSnapshotLimit = 1_000;

/**
 * Creates the client store over a transport. Nothing connects until `connect()` (which
 * `CallTrackProvider` calls when it mounts), so creating it during server rendering is safe.
 *
 * @example
 * const client = createCallTrackClient({
 *   transport: sseTransport({ url: '/api/events' }),
 *   api: { baseUrl: '/api' }, // the tracker's HTTP API: useCallControl, useAnalytics
 * });
 */
export function createCallTrackClient(options: CallTrackClientOptions): CallTrackClient {
  const { transport } = options;
  const reportTo = options.onError ?? ((error: Error) => console.error(error));
  const onError = (error: unknown): void => reportTo(toError(error));
  const api = options.api === undefined ? undefined : createCallTrackApi(options.api);
  const maxAlerts = options.maxAlerts ?? defaultMaxAlerts;
  /** Alert ids already received or dismissed: a repeat (a resume, a retry) is not a new alert. */
  const seenAlerts = new Set<string>();
  const listeners = new Set<() => void>();
  const eventListeners = new Set<{ listener: CallEventListener; filter?: CallEventFilter }>();
  let activeCalls = createActiveCallsReconciler();
  const { clock } = options;
  const presenceOptions = { ...options.presence, ...(clock ? { now: () => clock.now() } : {}) };
  let presence = createPresenceReconciler(presenceOptions);
  /** Watched calls by {@link watchKey}. */
  const watched = new Map<string, WatchedCall>();
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
  /**
   * Whether the transport reported anything since the connection last closed. Events may have
   * been missed while it was closed, so the first snapshot of each connection is a reload: a
   * call held from before (it may have ended meanwhile) survives it only when a live event of
   * this connection touched it. The reload begins with the first report (the open, normally),
   * so events that come between the open and the snapshot count as touches.
   */
  let heardSinceClose = false;
  const opened = (): void => {
    if (heardSinceClose) return;
    heardSinceClose = true;
    activeCalls.beginReload();
  };

  let state: CallTrackState = {
    connection: { isConnected: false, reconnecting: false },
    activeCalls: [],
    watchedCalls: new Map(),
    watchedCallsByTenant: new Map(),
    hasSnapshot: false,
    lastEvent: undefined,
    lastCursor: undefined,
    alerts: [],
    presence: {
      members: [],
      users: new Map(),
      byTenant: new Map(),
      count: { online: 0, away: 0 },
      isLoaded: false,
      isComplete: true,
      isAvailable: true,
    },
    userId: options.userId,
  };

  /**
   * The presence part of the state after a change: unchanged parts keep their identity. Only the
   * tenants whose users changed are made again; the lists are the reconciler's, kept sorted, so
   * an event costs copies of its tenant's lists, not a sort of every user.
   */
  const nextPresence = (): CallTrackPresenceState => {
    const current = state.presence;
    const changed = presence.takeChangedTenants();
    const byTenant = new Map<string, CallTrackTenantPresence>();
    for (const tenantId of presence.tenantIds()) {
      const previous = current.byTenant.get(tenantId);
      byTenant.set(
        tenantId,
        previous !== undefined && !changed.has(tenantId)
          ? previous
          : nextTenantPresence(previous, presence.usersOf(tenantId)),
      );
    }
    const tenants = [...byTenant.values()];
    // One tenant (a tenant's stream): its lists are the whole state's.
    const only = tenants.length === 1 ? tenants[0] : undefined;
    const members = only?.members ?? tenants.flatMap((tenant) => tenant.members);
    return {
      members: sameItems(members, current.members) ? current.members : members,
      users: only?.users ?? usersOfTenants(tenants),
      byTenant,
      count: nextCount(current.count, tenants),
      isLoaded: presence.isLoaded,
      isComplete: presence.isComplete,
      isAvailable: presence.isAvailable,
    };
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
  /** A new `connection` object only when it changes, so its readers do not re-render. */
  const setConnection = (
    isConnected: boolean,
    reconnecting: boolean,
    error?: CallTrackConnectionError,
  ): void => {
    const current = state.connection;
    if (
      current.isConnected === isConnected &&
      current.reconnecting === reconnecting &&
      current.error === error
    ) {
      return;
    }
    const connection = { isConnected, reconnecting };
    state = { ...state, connection: error === undefined ? connection : { ...connection, error } };
    emit();
  };
  /** Whether `watched` has registrations (or their undoing) that the state does not show yet. */
  let watchedUnpublished = false;
  /** The watched calls as the state shows them: without a tenant by id, with one by tenant. */
  const publishWatched = (): Pick<CallTrackState, 'watchedCalls' | 'watchedCallsByTenant'> => {
    watchedUnpublished = false;
    const watchedCalls = new Map<string, CallSnapshot | undefined>();
    const watchedCallsByTenant = new Map<string, Map<string, CallSnapshot | undefined>>();
    for (const entry of watched.values()) {
      if (entry.tenantId === undefined) {
        watchedCalls.set(entry.callId, entry.call);
        continue;
      }
      let ofTenant = watchedCallsByTenant.get(entry.tenantId);
      if (ofTenant === undefined) {
        ofTenant = new Map();
        watchedCallsByTenant.set(entry.tenantId, ofTenant);
      }
      ofTenant.set(entry.callId, entry.call);
    }
    return { watchedCalls, watchedCallsByTenant };
  };
  /**
   * Shows (un)registrations in the state on the next microtask: a list mounting N `useCall` rows
   * is one state change (one copy of the map, one round of selectors), not N.
   */
  const publishWatchedSoon = (): void => {
    if (watchedUnpublished) return;
    watchedUnpublished = true;
    queueMicrotask(() => {
      // An event or a snapshot may have published them meanwhile.
      if (!watchedUnpublished) return;
      const published = publishWatched();
      if (
        sameWatched(state.watchedCalls, published.watchedCalls) &&
        sameWatchedByTenant(state.watchedCallsByTenant, published.watchedCallsByTenant)
      ) {
        return;
      }
      state = { ...state, ...published };
      emit();
    });
  };

  /**
   * Keeps `call` as the watch's newest snapshot (ended or not) when it is newer than the one held
   * of the same tenant; true when it changed.
   */
  const rememberIn = (entry: WatchedCall | undefined, call: CallSnapshot): boolean => {
    const held = entry?.call;
    if (!entry || (held && (held.tenantId !== call.tenantId || held.version >= call.version))) {
      return false;
    }
    entry.call = call;
    return true;
  };
  /** Keeps the newest snapshot of a watched call in its watches; true when one changed. */
  const remember = (call: CallSnapshot): boolean => {
    const inTenant = rememberIn(watched.get(watchKey(call.callId, call.tenantId)), call);
    return rememberIn(watched.get(watchKey(call.callId, undefined)), call) || inTenant;
  };
  /** The tenant a watch reads: the one it names, else the one of the call it holds. */
  const tenantOfWatch = (entry: WatchedCall): string | undefined =>
    entry.tenantId ?? entry.call?.tenantId;

  /**
   * Whether the API's principal may name a tenant (`?tenantId=`: one with `allTenants`), as the
   * tracker's answers told; undefined until one did. The client is not told which it has.
   */
  let namesTenants: boolean | undefined;

  /**
   * Reads one call of `tenantId`. The tracker reads the principal's own tenant unless the request
   * names another, which only an all-tenants principal (a super-admin console) may do. So first
   * the own tenant, where a tenant's client finds all its calls; when the call is not there, its
   * tenant by name: an all-tenants client gets the call, a tenant's a refusal (400), which says
   * the call is not known, and that naming a tenant is no use on this client.
   */
  const readCall = async (
    read: CallTrackApi,
    callId: string,
    tenantId: string | undefined,
  ): Promise<CallSnapshot | undefined> => {
    if (tenantId === undefined || namesTenants === false) return read.getCall(callId);
    let ownRead = false;
    if (namesTenants === undefined) {
      const own = await read.getCall(callId);
      if (own?.tenantId === tenantId) return own;
      ownRead = true;
    }
    try {
      const call = await read.getCall(callId, { tenantId });
      namesTenants = true;
      return call;
    } catch (error) {
      const refused =
        CallTrackApiError.isInstance(error) &&
        error.status === 400 &&
        error.code === 'invalid_argument';
      if (!refused) throw error;
      namesTenants = false;
      return ownRead ? undefined : read.getCall(callId);
    }
  };

  /**
   * Set by a change of credentials, which forgets every watched call's state: the next snapshot
   * has them all read again, not only those held as active.
   */
  let rereadForgottenWatched = false;

  /** Reads a watched call again; its answer applies unless a later read or event superseded it. */
  const reread = async (key: string, entry: WatchedCall, read: CallTrackApi): Promise<void> => {
    entry.reads += 1;
    const ticket = entry.reads;
    const held = entry.call;
    const tenantId = tenantOfWatch(entry);
    let call: CallSnapshot | undefined;
    try {
      call = await readCall(read, entry.callId, tenantId);
    } catch (error) {
      onError(error);
    }
    if (watched.get(key) !== entry || entry.reads !== ticket) return;
    // A tenant's principal reads its own tenant's call: not the one of the tenant watched.
    if (call !== undefined && tenantId !== undefined && call.tenantId !== tenantId) {
      call = undefined;
    }
    if (call !== undefined) {
      if (!rememberIn(entry, call)) return;
    } else {
      // Unknown to the tracker, or unreadable: no longer known, unless an event came meanwhile.
      if (entry.call !== held) return;
      entry.call = undefined;
    }
    state = { ...state, ...publishWatched() };
    emit();
  };

  /**
   * After a snapshot: a watched call held as active that the active calls no longer hold (the
   * snapshot does not list it, and no live event touched it since the reload began) may have
   * ended unseen, its `call.ended` lost in a reset's gap. Re-read it through the API when there
   * is one, else forget its state: it must not stay active forever. A snapshot cut at the
   * server's limit (`complete` false) does not prove a call gone: without an API its state stays.
   * After a change of credentials, every watched call the snapshot does not list is read again
   * (the state was forgotten, and no snapshot lists an ended call). True when a state changed.
   */
  const confirmWatched = (complete: boolean): boolean => {
    const afterCredentialsChange = rereadForgottenWatched;
    rereadForgottenWatched = false;
    let changed = false;
    for (const [key, entry] of watched) {
      if (activeCalls.get(entry.callId, tenantOfWatch(entry)) !== undefined) continue;
      const forgotten = afterCredentialsChange && entry.call === undefined;
      if (entry.call?.active !== true && !forgotten) continue;
      if (api !== undefined) {
        void reread(key, entry, api);
        continue;
      }
      if (!complete || forgotten) continue;
      entry.call = undefined;
      changed = true;
    }
    return changed;
  };

  /** Remembers an alert id, forgetting the oldest past a bound (ids of long-gone alerts). */
  const rememberAlert = (id: string): void => {
    seenAlerts.add(id);
    if (seenAlerts.size > maxAlerts * 20) {
      const oldest = seenAlerts.values().next().value;
      if (oldest !== undefined) seenAlerts.delete(oldest);
    }
  };

  const sink: CallTrackTransportSink = {
    onOpen() {
      opened();
      setConnection(true, false);
    },
    onClose(reconnecting, error) {
      heardSinceClose = false;
      setConnection(false, reconnecting, reconnecting ? undefined : error);
      // A transport that retries may still deliver the snapshot; one that gave up will not.
      if (!reconnecting) {
        settleRefreshes(
          new CallTrackRefreshError({
            reason: 'closed',
            message: 'refresh: the connection closed before the snapshot',
          }),
        );
      }
    },
    onReloadError(error) {
      settleRefreshes(
        new CallTrackRefreshError({
          reason: 'failed',
          message: 'refresh: the snapshot could not be loaded',
          cause: error,
        }),
      );
    },
    onSnapshot(snapshot, complete) {
      opened();
      let watchedChanged = false;
      for (const call of snapshot) watchedChanged = remember(call) || watchedChanged;
      activeCalls.applySnapshot(snapshot);
      // A server that does not say: only a snapshot shorter than its default limit is surely whole.
      const listsAll =
        typeof complete === 'boolean' ? complete : snapshot.length < assumedSnapshotLimit;
      watchedChanged = confirmWatched(listsAll) || watchedChanged;
      const list = activeCalls.list();
      state = {
        ...state,
        activeCalls: sameCalls(state.activeCalls, list) ? state.activeCalls : list,
        ...(watchedChanged ? publishWatched() : {}),
        hasSnapshot: true,
      };
      emit();
      settleRefreshes();
    },
    onPresenceSnapshot(members, complete) {
      presence.applySnapshot(members, complete);
      state = { ...state, presence: nextPresence() };
      emit();
    },
    onPresenceUnavailable() {
      if (!presence.isAvailable) return;
      presence.markUnavailable();
      state = { ...state, presence: nextPresence() };
      emit();
    },
    onEvent(event, cursor) {
      opened();
      const { call, changed } = activeCalls.applyEvent(event);
      const presenceChanged = presenceOfEvent(event) !== undefined && presence.applyEvent(event);
      const watchedChanged = call !== undefined && remember(call);
      const newAlert = event.type.startsWith('alert.') && !seenAlerts.has(event.id);
      if (newAlert) rememberAlert(event.id);
      state = {
        ...state,
        lastEvent: event,
        lastCursor: cursor ?? state.lastCursor,
        ...(changed ? { activeCalls: activeCalls.list() } : {}),
        ...(watchedChanged ? publishWatched() : {}),
        ...(newAlert ? { alerts: [event, ...state.alerts].slice(0, maxAlerts) } : {}),
        ...(presenceChanged ? { presence: nextPresence() } : {}),
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
    onCredentialsChange() {
      activeCalls = createActiveCallsReconciler();
      presence = createPresenceReconciler(presenceOptions);
      namesTenants = undefined;
      // The reload that follows starts from nothing; pending re-reads are the old principal's.
      // Its snapshot has every watched call read again, with the new principal's session.
      for (const entry of watched.values()) {
        entry.call = undefined;
        entry.reads += 1;
      }
      rereadForgottenWatched = true;
      state = {
        ...state,
        activeCalls: [],
        ...publishWatched(),
        hasSnapshot: false,
        lastEvent: undefined,
        lastCursor: undefined,
        alerts: [],
        presence: nextPresence(),
      };
      emit();
    },
    onReset() {
      activeCalls.beginReload();
      // Presence diffs wait for the members the server sends again (with presence on).
      if (presence.isLoaded) {
        presence.beginReload();
        state = { ...state, presence: { ...state.presence, isLoaded: false } };
        emit();
      }
      connection?.reload('reset');
    },
  };

  /** Bumped by every connection opened or closed: a closed connection's reports are dropped. */
  let generation = 0;
  /**
   * The sink one connection reports to: once it is closed (the last `connect()` undone), nothing
   * it still reports (a callback of its subscription, a message in flight) reaches the store,
   * which may already follow a newer connection.
   */
  const sinkOfConnection = (own: number): CallTrackTransportSink => {
    const current = (): boolean => own === generation;
    return {
      onOpen() {
        if (current()) sink.onOpen();
      },
      onClose(reconnecting, error) {
        if (current()) sink.onClose(reconnecting, error);
      },
      onSnapshot(calls, complete) {
        if (current()) sink.onSnapshot(calls, complete);
      },
      onPresenceSnapshot(members, complete) {
        if (current()) sink.onPresenceSnapshot?.(members, complete);
      },
      onPresenceUnavailable(reason) {
        if (current()) sink.onPresenceUnavailable?.(reason);
      },
      onEvent(event, cursor) {
        if (current()) sink.onEvent(event, cursor);
      },
      onReset(reason) {
        if (current()) sink.onReset(reason);
      },
      onCredentialsChange() {
        if (current()) sink.onCredentialsChange?.();
      },
      onReloadError(error) {
        if (current()) sink.onReloadError?.(error);
      },
    };
  };

  return {
    api,
    dismissAlert(id) {
      rememberAlert(id);
      if (!state.alerts.some((alert) => alert.id === id)) return;
      state = { ...state, alerts: state.alerts.filter((alert) => alert.id !== id) };
      emit();
    },
    clearAlerts() {
      if (state.alerts.length === 0) return;
      state = { ...state, alerts: [] };
      emit();
    },
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
      if (!connection) {
        generation += 1;
        connection = transport.connect(sinkOfConnection(generation));
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        connectCount -= 1;
        if (connectCount > 0 || !connection) return;
        const closing = connection;
        connection = undefined;
        generation += 1;
        heardSinceClose = false;
        closing.close();
        setConnection(false, false);
        settleRefreshes(
          new CallTrackRefreshError({
            reason: 'closed',
            message: 'refresh: the client disconnected before the snapshot',
          }),
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
              new CallTrackRefreshError({
                reason: 'timeout',
                message: `refresh: no snapshot within ${timeoutMs} ms`,
              }),
            );
          }, timeoutMs),
        };
        pendingRefreshes.add(entry);
      });
      activeCalls.beginReload();
      connection.reload('refresh');
      return done;
    },
    watchCall(callId, watchOptions) {
      const tenantId = watchOptions?.tenantId;
      const key = watchKey(callId, tenantId);
      const entry = watched.get(key) ?? {
        callId,
        tenantId,
        count: 0,
        call: activeCalls.get(callId, tenantId),
        reads: 0,
      };
      entry.count += 1;
      if (entry.count === 1) {
        watched.set(key, entry);
        publishWatchedSoon();
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        entry.count -= 1;
        if (entry.count > 0) return;
        watched.delete(key);
        publishWatchedSoon();
      };
    },
  };
}

/** True when both maps hold the very same calls under the same ids. */
function sameWatched(
  a: CallTrackState['watchedCalls'],
  b: CallTrackState['watchedCalls'],
): boolean {
  if (a.size !== b.size) return false;
  for (const [callId, call] of b) {
    if (a.get(callId) !== call || !a.has(callId)) return false;
  }
  return true;
}

/** True when both maps hold the very same tenants, each with the very same watched calls. */
function sameWatchedByTenant(
  a: CallTrackState['watchedCallsByTenant'],
  b: CallTrackState['watchedCallsByTenant'],
): boolean {
  if (a.size !== b.size) return false;
  for (const [tenantId, calls] of b) {
    const held = a.get(tenantId);
    if (held === undefined || !sameWatched(held, calls)) return false;
  }
  return true;
}

/** True when both lists hold the very same call objects in the same order. */
function sameCalls(a: readonly CallSnapshot[], b: readonly CallSnapshot[]): boolean {
  return a.length === b.length && a.every((call, index) => call === b[index]);
}

/** Whether two lists hold the same objects in the same order. */
function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/** The online and away counts of `members`: `current` when they did not change. */
function countOf(
  current: { online: number; away: number },
  members: readonly UserPresence[],
): { online: number; away: number } {
  const online = members.filter((member) => member.status === 'online').length;
  const away = members.length - online;
  return current.online === online && current.away === away ? current : { online, away };
}

/** The tenants' counts added up: `current` when they did not change. */
function nextCount(
  current: { online: number; away: number },
  tenants: readonly CallTrackTenantPresence[],
): { online: number; away: number } {
  let online = 0;
  let away = 0;
  for (const tenant of tenants) {
    online += tenant.count.online;
    away += tenant.count.away;
  }
  return current.online === online && current.away === away ? current : { online, away };
}

/** Every tenant's users by user id, a user id of several tenants naming the first tenant's. */
function usersOfTenants(
  tenants: readonly CallTrackTenantPresence[],
): ReadonlyMap<string, UserPresence> {
  const byUser = new Map<string, UserPresence>();
  for (const tenant of tenants) {
    for (const [userId, user] of tenant.users) if (!byUser.has(userId)) byUser.set(userId, user);
  }
  return byUser;
}

/** One tenant's presence from its users (by user id): `current` when none of them changed. */
function nextTenantPresence(
  current: CallTrackTenantPresence | undefined,
  users: readonly UserPresence[],
): CallTrackTenantPresence {
  if (
    current !== undefined &&
    current.users.size === users.length &&
    users.every((user) => current.users.get(user.userId) === user)
  ) {
    return current;
  }
  const members = users.filter((user) => user.status !== 'offline');
  const zero = { online: 0, away: 0 };
  return {
    members:
      current !== undefined && sameItems(members, current.members) ? current.members : members,
    users: new Map(users.map((user) => [user.userId, user])),
    count: countOf(current?.count ?? zero, members),
  };
}

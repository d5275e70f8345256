import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import { toError } from '@calltrack/core/internal';
import { type CallTrackConnectionError, refusedConnection } from './call-track-connection-error';
import type { CallTrackTransport } from './call-track-transport';
import { defaultRetryDelay, type RetryDelay, retryDelayMs } from './retry-delay';

/** A message of `@calltrack/trpc`'s `onCallEvent` subscription (the `data` of a tracked item). */
export type TrpcCallStreamMessage =
  | { type: 'ready' }
  | { type: 'resumed' }
  | { type: 'event'; event: CallEvent }
  | { type: 'presence'; members: UserPresence[]; complete?: boolean }
  | { type: 'presence-unavailable'; reason: string }
  | { type: 'reset'; reason: string };

/** The callbacks the transport hands to your `subscribe` function (tRPC's own option names). */
export interface TrpcSubscribeHandlers {
  onStarted?: () => void;
  onData: (message: { id?: string; data: TrpcCallStreamMessage }) => void;
  onError?: (error: unknown) => void;
  /** The subscription ended without an error (the server ended the stream). */
  onComplete?: () => void;
  /**
   * `error`: why the link is connecting again (tRPC passes it), e.g. the server's
   * `SERVICE_UNAVAILABLE` while its Redis is down.
   */
  onConnectionStateChange?: (state: {
    state: 'idle' | 'connecting' | 'pending';
    error?: unknown;
  }) => void;
}

/**
 * What `@calltrack/trpc`'s `activeCallsSnapshot` query answers: the active calls, and whether
 * they are all of them (`complete` false: the limit left some out).
 */
export interface TrpcActiveCallsSnapshot {
  calls: readonly CallSnapshot[];
  complete?: boolean;
}

/** Options of {@link trpcTransport}: two functions you wire to your typed tRPC client. */
export interface TrpcTransportOptions {
  /**
   * Starts the subscription, e.g.
   * `(input, handlers) => trpc.calltrack.onCallEvent.subscribe(input, handlers)`.
   */
  subscribe: (
    input: { lastEventId?: string },
    handlers: TrpcSubscribeHandlers,
  ) => { unsubscribe(): void };
  /**
   * Loads the active calls: `() => trpc.calltrack.activeCallsSnapshot.query()`, whose answer says
   * whether it lists every active call (so a watched call it leaves out is known to be gone, or
   * known to be possibly cut). A bare list (`activeCalls.query()`, or a server from before
   * `activeCallsSnapshot`) works too: the client then takes a list of 1,000 calls or more as
   * possibly cut.
   */
  loadActiveCalls: () => Promise<readonly CallSnapshot[] | TrpcActiveCallsSnapshot>;
  /**
   * Failures of `loadActiveCalls` and the subscription; a thrown value that is not an `Error`
   * arrives wrapped in one (its `cause`). Default `console.error`.
   */
  onError?: (error: Error) => void;
  /**
   * How long to wait before subscribing again after the subscription failed for good (an error
   * status such as a proxy's 503 stops its `EventSource`), and before loading the active calls
   * again after a load failed: by default 1 s doubling up to 30 s. An `UNAUTHORIZED` or
   * `FORBIDDEN`, or another 4xx but 408 and 429 (`BAD_REQUEST`: an input the server refuses), is
   * not retried.
   */
  retryDelay?: RetryDelay;
}

/**
 * A transport over `@calltrack/trpc`'s procedures, without depending on your router's types:
 * loads the active calls on `ready` and `reset`, applies `event`s live, and the presence members
 * a router with `presence` sends. tRPC's `httpSubscriptionLink` resumes with the last id by
 * itself; a load still under way when the subscription drops is ignored and made again once it
 * is back (its answer was read before the drop). When the subscription fails for good, or the
 * server refuses it before its first message with a code the link retries (`SERVICE_UNAVAILABLE`
 * while its Redis is down), the transport subscribes again after `retryDelay` with that id,
 * except after `UNAUTHORIZED`, `FORBIDDEN` or another 4xx but 408 and 429 (a retry would be
 * refused again), which end the connection with `state.connection.error`. A failed load is
 * tried again after `retryDelay`; a refused one (the same 4xx) ends the connection too.
 * `refresh()` loads the active calls again, or starts a new subscription when the last one
 * ended.
 */
export function trpcTransport(options: TrpcTransportOptions): CallTrackTransport {
  const reportTo = options.onError ?? ((error: Error) => console.error(error));
  const onError = (error: unknown): void => reportTo(toError(error));
  const retryDelay = options.retryDelay ?? defaultRetryDelay;
  return {
    connect(sink) {
      let closed = false;
      /** Bumped by every load: only the latest one's answer counts. */
      let loading = 0;
      /** A load is under way (or waits to be retried) and its answer is not applied yet. */
      let awaitingSnapshot = false;
      /** A load was dropped with its connection: load again when the next connection opens. */
      let loadOnOpen = false;
      /** Loads failed in a row. */
      let loadFailures = 0;
      let loadTimer: ReturnType<typeof setTimeout> | undefined;
      let subscription: { unsubscribe(): void } | undefined;
      /** Bumped by every subscription: only the current one's callbacks count. */
      let generation = 0;
      /** True once the current subscription ended by itself (failed, or the server ended it). */
      let ended = false;
      /** Subscriptions ended in a row. */
      let endings = 0;
      let subscribeTimer: ReturnType<typeof setTimeout> | undefined;
      /** The tracked id of the last message: where a new subscription resumes. */
      let lastEventId: string | undefined;

      const load = (): void => {
        clearTimeout(loadTimer);
        loading += 1;
        const ticket = loading;
        const current = (): boolean => !closed && ticket === loading;
        awaitingSnapshot = true;
        // Read after the drop, this answer holds what the next connection will not replay.
        loadOnOpen = false;
        options.loadActiveCalls().then(
          (loaded) => {
            if (!current()) return;
            awaitingSnapshot = false;
            loadFailures = 0;
            if (isCallList(loaded)) sink.onSnapshot(loaded);
            else {
              const { complete } = loaded;
              sink.onSnapshot(loaded.calls, typeof complete === 'boolean' ? complete : undefined);
            }
          },
          (error: unknown) => {
            onError(error);
            if (!current()) return;
            sink.onReloadError?.(error);
            const refusal = refusalOf(error);
            if (refusal) {
              // Asked again, the query would be refused again (a 401, or a 400 for its input),
              // and without a snapshot the store shows nothing: end the connection, say why.
              awaitingSnapshot = false;
              stop(refusal);
              return;
            }
            loadFailures += 1;
            loadTimer = setTimeout(
              () => {
                if (current()) load();
              },
              retryDelayMs(retryDelay, loadFailures, undefined),
            );
          },
        );
      };

      /**
       * The connection dropped: the answer of a load under way may have been read before events
       * the new connection will not replay (tRPC resumes after the last id, and the client's
       * reload begins with the new connection), so it could take away a call started meanwhile.
       * Ignore it, and load again once the connection is back.
       */
      const dropLoad = (): void => {
        if (!awaitingSnapshot) return;
        awaitingSnapshot = false;
        loading += 1;
        clearTimeout(loadTimer);
        loadOnOpen = true;
      };

      /** The connection opened: the client begins its reload, then a dropped load runs again. */
      const opened = (): void => {
        sink.onOpen();
        if (!loadOnOpen) return;
        loadOnOpen = false;
        load();
      };

      /** Ends the connection for good (until `refresh()`): `refusal` says why. */
      const stop = (refusal: CallTrackConnectionError): void => {
        // Already ended: the subscription's own refusal was reported.
        if (ended) return;
        ended = true;
        clearTimeout(subscribeTimer);
        subscription?.unsubscribe();
        sink.onClose(false, refusal);
      };

      const subscribe = (): void => {
        clearTimeout(subscribeTimer);
        const previous = subscription;
        generation += 1;
        const mine = generation;
        ended = false;
        previous?.unsubscribe();
        /** A message came on this subscription (it was attached, not only `connected`). */
        let heard = false;
        /** A message came on the current connection of this subscription (the link reconnects). */
        let open = false;
        const live = (): boolean => !closed && mine === generation && !ended;
        /** The subscription ended by itself: subscribe again, unless it was refused. */
        const end = (error: unknown): void => {
          if (!live()) return;
          ended = true;
          dropLoad();
          const refusal = error === undefined ? undefined : refusalOf(error);
          if (refusal) {
            sink.onClose(false, refusal);
            return;
          }
          endings += 1;
          sink.onClose(true);
          subscribeTimer = setTimeout(subscribe, retryDelayMs(retryDelay, endings, undefined));
        };
        subscription = options.subscribe(lastEventId === undefined ? {} : { lastEventId }, {
          onData: ({ id, data }) => {
            if (!live()) return;
            // tRPC says `started` (its `connected` event) also when the procedure failed, the error
            // right behind it: a message (`ready`, `resumed` or anything after) is what shows the
            // subscription is attached, so the connection opens on the first one.
            heard = true;
            endings = 0;
            if (!open) {
              open = true;
              opened();
            }
            if (id) lastEventId = id;
            if (data.type === 'ready') load();
            else if (data.type === 'reset') sink.onReset(data.reason);
            else if (data.type === 'presence') {
              const { complete } = data;
              sink.onPresenceSnapshot?.(
                data.members,
                typeof complete === 'boolean' ? complete : undefined,
              );
            } else if (data.type === 'presence-unavailable')
              sink.onPresenceUnavailable?.(data.reason);
            else if (data.type === 'event') sink.onEvent(data.event, id);
          },
          onError: (error) => {
            if (!live()) return;
            onError(error);
            end(error);
          },
          onComplete: () => end(undefined),
          onConnectionStateChange: ({ state, error }) => {
            if (!live()) return;
            if (state === 'connecting' && !heard && serverErrorCode(error) !== undefined) {
              // The server refused the subscription before its first message with a code the
              // link retries (SERVICE_UNAVAILABLE while its Redis is down): the link would come
              // back after the stream's `retry:` (1 s) for as long as that lasts, every client
              // at once. Subscribe again after `retryDelay` instead, as after a refusal.
              onError(error);
              subscription?.unsubscribe();
              end(error);
              return;
            }
            if (state === 'connecting') {
              open = false;
              dropLoad();
              sink.onClose(true);
            }
          },
        });
      };

      subscribe();
      return {
        reload() {
          if (!ended) {
            load();
            return;
          }
          // A new subscription (no resume) starts with `ready`, which loads the calls.
          lastEventId = undefined;
          loadOnOpen = false;
          subscribe();
        },
        close() {
          closed = true;
          clearTimeout(loadTimer);
          clearTimeout(subscribeTimer);
          subscription?.unsubscribe();
        },
      };
    },
  };
}

/**
 * The error of a refused subscription or query: a tRPC error whose `data.httpStatus` is a 4xx a
 * retry would get again (`UNAUTHORIZED`, `FORBIDDEN`, `BAD_REQUEST`…; not `TIMEOUT`,
 * `TOO_MANY_REQUESTS` nor `CLIENT_CLOSED_REQUEST`), or a stream request answered so (the
 * `eventsource` package's error event, the `cause`, carries the status as `code`); else
 * undefined.
 */
function refusalOf(error: unknown): CallTrackConnectionError | undefined {
  const { data, cause } = (error ?? {}) as {
    data?: { httpStatus?: unknown };
    cause?: { code?: unknown };
  };
  const status =
    typeof data?.httpStatus === 'number'
      ? data.httpStatus
      : typeof cause?.code === 'number'
        ? cause.code
        : undefined;
  return refusedConnection(status, error);
}

/** The tRPC error code the server sent with `error` (`data.code`); undefined for any other error. */
function serverErrorCode(error: unknown): string | undefined {
  const code = (error as { data?: { code?: unknown } } | undefined)?.data?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A bare list of calls (`activeCalls`), not an `activeCallsSnapshot` answer. */
function isCallList(
  loaded: readonly CallSnapshot[] | TrpcActiveCallsSnapshot,
): loaded is readonly CallSnapshot[] {
  return Array.isArray(loaded);
}

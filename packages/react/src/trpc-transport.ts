import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import type { CallTrackTransport } from './call-track-transport';

/** A message of `@calltrack/trpc`'s `onCallEvent` subscription (the `data` of a tracked item). */
export type TrpcCallStreamMessage =
  | { type: 'ready' }
  | { type: 'event'; event: CallEvent }
  | { type: 'presence'; members: UserPresence[] }
  | { type: 'reset'; reason: string };

/** The callbacks the transport hands to your `subscribe` function (tRPC's own option names). */
export interface TrpcSubscribeHandlers {
  onStarted?: () => void;
  onData: (message: { id?: string; data: TrpcCallStreamMessage }) => void;
  onError?: (error: unknown) => void;
  onConnectionStateChange?: (state: { state: 'idle' | 'connecting' | 'pending' }) => void;
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
  /** Failures of `loadActiveCalls` and the subscription. Default `console.error`. */
  onError?: (error: unknown) => void;
}

/**
 * A transport over `@calltrack/trpc`'s procedures, without depending on your router's types:
 * loads the active calls on `ready` and `reset`, applies `event`s live, and the presence members
 * a router with `presence` sends. tRPC's
 * `httpSubscriptionLink` resumes with the last id by itself.
 */
export function trpcTransport(options: TrpcTransportOptions): CallTrackTransport {
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  return {
    connect(sink) {
      let closed = false;
      let loading = 0;
      const load = (): void => {
        loading += 1;
        const ticket = loading;
        options.loadActiveCalls().then(
          (loaded) => {
            if (closed || ticket !== loading) return;
            if (isCallList(loaded)) sink.onSnapshot(loaded);
            else {
              const { complete } = loaded;
              sink.onSnapshot(loaded.calls, typeof complete === 'boolean' ? complete : undefined);
            }
          },
          (error: unknown) => {
            if (!closed && ticket === loading) sink.onReloadError?.(error);
            onError(error);
          },
        );
      };
      const subscription = options.subscribe(
        {},
        {
          onStarted: () => sink.onOpen(),
          onData: ({ id, data }) => {
            if (data.type === 'ready') load();
            else if (data.type === 'reset') sink.onReset(data.reason);
            else if (data.type === 'presence') sink.onPresenceSnapshot?.(data.members);
            else if (data.type === 'event') sink.onEvent(data.event, id);
          },
          onError: (error) => {
            sink.onClose(false);
            onError(error);
          },
          onConnectionStateChange: ({ state }) => {
            if (state === 'connecting') sink.onClose(true);
            else if (state === 'pending') sink.onOpen();
          },
        },
      );
      return {
        reload: load,
        close() {
          closed = true;
          subscription.unsubscribe();
        },
      };
    },
  };
}

/** A bare list of calls (`activeCalls`), not an `activeCallsSnapshot` answer. */
function isCallList(
  loaded: readonly CallSnapshot[] | TrpcActiveCallsSnapshot,
): loaded is readonly CallSnapshot[] {
  return Array.isArray(loaded);
}

import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import type { CallTrackTransport } from './call-track-transport';

/** The part of the browser's `EventSource` the SSE transport uses. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(
    type: string,
    listener: (event: { data?: unknown; lastEventId?: string }) => void,
  ): void;
  close(): void;
}

/** An `EventSource` constructor: the browser's, or the `eventsource` package's in Node. */
// biome-ignore lint/suspicious/noExplicitAny: the init object differs between implementations
export type EventSourceConstructor = new (url: string, init?: any) => EventSourceLike;

/** Options of {@link sseTransport}. */
export interface SseTransportOptions {
  /** The `@calltrack/sse` endpoint, with its query filters (`?types=call.*`). */
  url: string;
  /** Default `globalThis.EventSource`. */
  EventSource?: EventSourceConstructor;
  /** Passed to the constructor, e.g. `{ withCredentials: true }` for a session cookie. */
  eventSourceInit?: Record<string, unknown>;
}

const closedState = 2;

/**
 * A transport over an `@calltrack/sse` endpoint. Resume is automatic: the `EventSource`
 * reconnects with `Last-Event-ID`, and the server replays what was missed (or sends `reset` and a
 * fresh snapshot). `refresh()` opens a new stream, which starts with a snapshot.
 */
export function sseTransport(options: SseTransportOptions): CallTrackTransport {
  return {
    connect(sink) {
      const Source =
        options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (!Source) throw new TypeError('sseTransport: no EventSource; pass one in the options');
      let source: EventSourceLike | undefined;
      const open = (): void => {
        const current = new Source(options.url, options.eventSourceInit);
        source = current;
        const live = (): boolean => source === current;
        current.addEventListener('open', () => {
          if (live()) sink.onOpen();
        });
        current.addEventListener('error', () => {
          if (live()) sink.onClose(current.readyState !== closedState);
        });
        current.addEventListener('snapshot', (event) => {
          if (!live()) return;
          const { calls, complete } = JSON.parse(String(event.data)) as {
            calls: CallSnapshot[];
            complete?: unknown;
          };
          sink.onSnapshot(calls, typeof complete === 'boolean' ? complete : undefined);
        });
        current.addEventListener('presence', (event) => {
          if (!live()) return;
          const { members } = JSON.parse(String(event.data)) as { members: UserPresence[] };
          sink.onPresenceSnapshot?.(members);
        });
        current.addEventListener('call', (event) => {
          if (!live()) return;
          sink.onEvent(JSON.parse(String(event.data)) as CallEvent, event.lastEventId || undefined);
        });
        current.addEventListener('reset', (event) => {
          if (!live()) return;
          const { reason } = JSON.parse(String(event.data)) as { reason: string };
          sink.onReset(reason);
        });
      };
      open();
      return {
        reload(reason) {
          // After a reset the server sends a fresh snapshot by itself.
          if (reason === 'reset') return;
          source?.close();
          open();
        },
        close() {
          source?.close();
          source = undefined;
        },
      };
    },
  };
}

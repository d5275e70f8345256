import type { CallEvent, CallSnapshot, UserPresence } from '@calltrack/core';
import { parseRetryAfterMs } from '@calltrack/core/internal';
import { refusedConnection } from './call-track-connection-error';
import type { CallTrackTransport } from './call-track-transport';
import { defaultRetryDelay, type RetryDelay, retryDelayMs } from './retry-delay';

/** The part of the browser's `EventSource` the SSE transport uses. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(
    type: string,
    /** `code`: the HTTP status of a refused stream (the `eventsource` package's error events). */
    listener: (event: { data?: unknown; lastEventId?: string; code?: unknown }) => void,
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
  /**
   * How long to wait before opening a new stream when the server (or a proxy) answered one with
   * an error status, which makes an `EventSource` stop for good: by default 1 s doubling up to
   * 30 s, or the server's longer `Retry-After` (at most a minute), spread at random. A 4xx but
   * 408 and 429 (a 401, a 403, a 400 for a malformed filter) is not retried.
   */
  retryDelay?: RetryDelay;
}

const closedState = 2;

/** What the server answered a stream request, as far as the transport could see. */
interface StreamAnswer {
  status: number;
  retryAfter: string | null;
}

/**
 * A transport over an `@calltrack/sse` endpoint. Resume is automatic: the `EventSource`
 * reconnects with `Last-Event-ID`, and the server replays what was missed (or sends `reset` and a
 * fresh snapshot). An error status stops an `EventSource` for good: the transport then opens a
 * new stream after `retryDelay`, resuming after the last event (`?lastEventId=`), except after
 * a 4xx other than 408 and 429 (a 401, a 403, a 400 for a malformed filter or cursor), which a
 * retry would get again: it ends the connection with `state.connection.error`. `refresh()`
 * opens a new stream, which starts with a snapshot.
 */
export function sseTransport(options: SseTransportOptions): CallTrackTransport {
  const retryDelay = options.retryDelay ?? defaultRetryDelay;
  return {
    connect(sink) {
      const Source =
        options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
      if (!Source) throw new TypeError('sseTransport: no EventSource; pass one in the options');
      let source: EventSourceLike | undefined;
      /** The id of the last event received: where a new stream resumes. */
      let lastEventId: string | undefined;
      /** Streams refused in a row. */
      let refusals = 0;
      let retryTimer: ReturnType<typeof setTimeout> | undefined;
      const cancelRetry = (): void => {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      };
      const open = (): void => {
        cancelRetry();
        let answer: StreamAnswer | undefined;
        const url =
          lastEventId === undefined ? options.url : withLastEventId(options.url, lastEventId);
        const current = new Source(
          url,
          noteAnswers(options.eventSourceInit, (latest) => {
            answer = latest;
          }),
        );
        source = current;
        const live = (): boolean => source === current;
        const track = (event: { lastEventId?: string }): void => {
          if (event.lastEventId) lastEventId = event.lastEventId;
        };
        current.addEventListener('open', () => {
          if (!live()) return;
          refusals = 0;
          sink.onOpen();
        });
        current.addEventListener('error', (event) => {
          if (!live()) return;
          // A dropped stream: the EventSource reconnects by itself.
          if (current.readyState !== closedState) {
            sink.onClose(true);
            return;
          }
          // An error status (or no event stream): the EventSource gave up.
          const status =
            answer?.status ?? (typeof event.code === 'number' ? event.code : undefined);
          const refused = (seen: StreamAnswer | undefined): void => {
            const refusal = refusedConnection(seen?.status, event);
            if (refusal) {
              sink.onClose(false, refusal);
              return;
            }
            refusals += 1;
            sink.onClose(true);
            const retryAfterMs = parseRetryAfterMs(seen?.retryAfter);
            retryTimer = setTimeout(open, retryDelayMs(retryDelay, refusals, retryAfterMs));
          };
          if (status !== undefined) {
            refused(answer ?? { status, retryAfter: null });
            return;
          }
          // A browser's EventSource hides the status: ask the server with a HEAD, which
          // @calltrack/sse answers as it refused the stream (a 401 must not be retried). A 405
          // is a server that does not answer HEAD so (an older one): it says nothing of the GET.
          sink.onClose(true);
          void probeStream(url, options.eventSourceInit).then((probed) => {
            if (live()) refused(probed?.status === 405 ? undefined : probed);
          });
        });
        current.addEventListener('snapshot', (event) => {
          if (!live()) return;
          track(event);
          const { calls, complete } = JSON.parse(String(event.data)) as {
            calls: CallSnapshot[];
            complete?: unknown;
          };
          sink.onSnapshot(calls, typeof complete === 'boolean' ? complete : undefined);
        });
        current.addEventListener('presence', (event) => {
          if (!live()) return;
          track(event);
          const { members, complete } = JSON.parse(String(event.data)) as {
            members: UserPresence[];
            complete?: unknown;
          };
          sink.onPresenceSnapshot?.(members, typeof complete === 'boolean' ? complete : undefined);
        });
        current.addEventListener('presence-unavailable', (event) => {
          if (!live()) return;
          track(event);
          const { reason } = JSON.parse(String(event.data)) as { reason: string };
          sink.onPresenceUnavailable?.(reason);
        });
        current.addEventListener('call', (event) => {
          if (!live()) return;
          track(event);
          sink.onEvent(JSON.parse(String(event.data)) as CallEvent, event.lastEventId || undefined);
        });
        current.addEventListener('reset', (event) => {
          if (!live()) return;
          track(event);
          const { reason } = JSON.parse(String(event.data)) as { reason: string };
          sink.onReset(reason);
        });
      };
      open();
      return {
        reload(reason) {
          // After a reset the server sends a fresh snapshot by itself.
          if (reason === 'reset') return;
          // A fresh stream (no resume) starts with the snapshot, also after a refusal.
          source?.close();
          lastEventId = undefined;
          open();
        },
        close() {
          cancelRetry();
          source?.close();
          source = undefined;
        },
      };
    },
  };
}

/**
 * Asks the endpoint with a `HEAD` (same URL, the credentials the `EventSource` sends) what it
 * answers a stream request: `@calltrack/sse` answers the status it refuses the stream with, or
 * 200 without opening one. Undefined when there is no `fetch` or the request fails.
 */
async function probeStream(
  url: string,
  init: Record<string, unknown> | undefined,
): Promise<StreamAnswer | undefined> {
  const own = init?.fetch as typeof fetch | undefined;
  if (own === undefined && typeof globalThis.fetch !== 'function') return undefined;
  try {
    const request: RequestInit = {
      method: 'HEAD',
      credentials: init?.withCredentials === true ? 'include' : 'same-origin',
      cache: 'no-store',
    };
    const response = await (own ? own(url, request) : globalThis.fetch(url, request));
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  } catch {
    return undefined;
  }
}

/** `url` asking to resume after `id` (for a new `EventSource`, which sends no `Last-Event-ID`). */
function withLastEventId(url: string, id: string): string {
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  return `${base}${base.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(id)}`;
}

/**
 * `init` with a `fetch` that notes each answer, so a refusal's status and `Retry-After` can be
 * read: the `eventsource` package fetches with it; the browser's `EventSource` ignores it (and
 * hides the status: every refusal there is retried).
 */
function noteAnswers(
  init: Record<string, unknown> | undefined,
  note: (answer: StreamAnswer) => void,
): Record<string, unknown> | undefined {
  const own = init?.fetch as typeof fetch | undefined;
  if (own === undefined && typeof globalThis.fetch !== 'function') return init;
  const fetchStream = own ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
  return {
    ...init,
    fetch: async (input: RequestInfo | URL, requestInit?: RequestInit) => {
      const response = await fetchStream(input, requestInit);
      note({ status: response.status, retryAfter: response.headers.get('retry-after') });
      return response;
    },
  };
}

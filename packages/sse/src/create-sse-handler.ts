import { authorizeSseRequest } from './authorize-sse-request';
import { resolveSseSettings } from './resolve-sse-settings';
import type { SseHandlerOptions } from './sse-handler-options';
import { sseResponseHeaders } from './sse-response-headers';
import { SseSession, type SseSink } from './sse-session';
import { methodNotAllowedResponse, toSseErrorResponse } from './to-sse-error-response';

/**
 * Creates the realtime endpoint: a fetch handler (`(request) => Promise<Response>`) that answers a
 * `GET` with one Server-Sent Events stream of the caller's tenant. Use it as a Next.js route
 * handler as is (`export const GET = handler`), or in Express / `node:http` through
 * `toNodeHandler(handler)` from `@calltrack/core/node` (or use `createSseNodeHandler`, which writes to
 * the Node response directly and is cheaper per connection).
 *
 * The stream carries, in order:
 * - `retry: <ms>` (the reconnection delay, with jitter);
 * - with a `tracker` and no resume cursor: `event: snapshot`, `data: { "calls": TrackedCall[] }`,
 *   the tenant's active calls (loaded after the bus subscription is live, so nothing is missed);
 * - `id: <cursor>`, `event: call`, `data: <CallEvent JSON>` for each event;
 * - `event: reset`, `data: { "reason" }` when the resume cursor is too old or unknown: reload
 *   state (with a tracker a fresh `snapshot` follows at once);
 * - `: ping` comments on idle streams.
 *
 * A reconnecting `EventSource` sends `Last-Event-ID`, and the stream resumes right after it.
 * Answers 401 without credentials, 400 for a malformed query, 405 for another method; errors are
 * JSON `{ error: { code, message } }`. See `parseSseQuery` for the filters.
 */
export function createSseHandler(
  options: SseHandlerOptions,
): (request: Request) => Promise<Response> {
  const settings = resolveSseSettings(options, 'createSseHandler');

  return async (request) => {
    if (request.method !== 'GET') return methodNotAllowedResponse();
    let info: Awaited<ReturnType<typeof authorizeSseRequest>>;
    try {
      info = await authorizeSseRequest(settings, {
        url: new URL(request.url),
        lastEventId: request.headers.get('last-event-id'),
        request: () => request,
      });
    } catch (error) {
      return toSseErrorResponse(settings, error);
    }
    const session = SseSession.open(settings, info, request.signal);
    return new Response(createSseBody(session), { status: 200, headers: sseResponseHeaders });
  };
}

/**
 * The response body of one stream. A function of its own, so the stream's closures keep only the
 * session alive (not the request and what authentication built).
 */
function createSseBody(session: SseSession): ReadableStream<Uint8Array> {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let waiting: (() => void) | undefined;
  let open = true;
  const wake = (): void => {
    const resolve = waiting;
    waiting = undefined;
    resolve?.();
  };
  const sink: SseSink = {
    write(chunk) {
      if (!open) return true;
      controller.enqueue(chunk);
      return (controller.desiredSize ?? 0) > 0;
    },
    get writable() {
      return open && (controller.desiredSize ?? 0) > 0;
    },
    drain() {
      if (!open || (controller.desiredSize ?? 0) > 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        waiting = resolve;
      });
    },
    end() {
      if (!open) return;
      open = false;
      wake();
      controller.close();
    },
  };
  // The body pulls: the reader (the Node bridge, Next.js) asks for more only once the socket
  // took the previous chunk, which is what wakes a session waiting in drain().
  return new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
      void session.run(sink);
    },
    pull: wake,
    cancel() {
      open = false;
      wake();
      session.close();
    },
  });
}

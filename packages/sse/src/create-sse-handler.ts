import { authorizeSseRequest } from './authorize-sse-request';
import { isRequestAborted } from './is-request-aborted';
import { resolveSseSettings } from './resolve-sse-settings';
import type { SseHandlerOptions } from './sse-handler-options';
import { SseResponse } from './sse-response';
import { sseResponseHeaders } from './sse-response-headers';
import { SseSession } from './sse-session';
import {
  methodNotAllowedResponse,
  streamEndedResponse,
  toSseErrorResponse,
} from './to-sse-error-response';

/**
 * Creates the realtime endpoint: a fetch handler (`(request) => Promise<Response>`) that answers a
 * `GET` with one Server-Sent Events stream of the caller's tenant (every tenant's, for a
 * principal with `allTenants`). Use it as a Next.js route handler as is (`export const GET =
 * handler`), or in Express / `node:http` through `toNodeHandler(handler)` from
 * `@calltrack/core/node`, which then writes the stream straight to the Node response, as
 * `createSseNodeHandler` does.
 *
 * The response comes once the stream is attached to the bus, so every event published after the
 * client is told it is connected reaches it. The stream carries, in order:
 * - `retry: <ms>` (the reconnection delay, with jitter);
 * - with a `tracker` and no resume cursor: `event: snapshot`, `data: { "calls": CallSnapshot[],
 *   "complete": boolean }`, the active calls (loaded after the stream is attached, so nothing is
 *   missed); `complete` is false when some were left out (`snapshotLimit`);
 * - `id: <cursor>`, `event: call`, `data: <CallEvent JSON>` for each event;
 * - `event: reset`, `data: { "reason" }` when events were missed (the resume cursor is too old
 *   or unknown, or an event could not be sent): reload state (with a tracker a fresh `snapshot`
 *   follows at once);
 * - `: ping` comments on idle streams.
 *
 * A reconnecting `EventSource` sends `Last-Event-ID`, and the stream resumes right after it.
 * Answers 401 without credentials, 403 for a page of an origin `allowedOrigins` does not list,
 * 400 for a malformed query, 405 for another method; errors are
 * JSON `{ error: { code, message } }`. See `parseSseQuery` for the filters. A `HEAD` gets the
 * status a `GET` would be refused with, or 200 without opening a stream: a browser's
 * `EventSource` hides the status of a refusal, and the React transport asks this way.
 */
export function createSseHandler(
  options: SseHandlerOptions,
): (request: Request) => Promise<Response> {
  const settings = resolveSseSettings(options, 'createSseHandler');

  return async (request) => {
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) return methodNotAllowedResponse();
    let session: SseSession;
    try {
      const info = await authorizeSseRequest(settings, {
        url: new URL(request.url),
        // `Headers` joins a repeated header with ", ", which no cursor of calltrack's buses holds.
        lastEventId: request.headers.get('last-event-id')?.split(', '),
        headers: request.headers,
        request: () => request,
      });
      if (head) return new Response(null, { status: 200, headers: sseResponseHeaders });
      session = new SseSession(settings, info, () => request.signal);
    } catch (error) {
      return toSseErrorResponse(settings, error);
    }
    try {
      await session.attach();
    } catch (error) {
      session.close();
      return toSseErrorResponse(settings, error);
    }
    if (session.isClosed) return streamEndedResponse(settings.retryMs);
    try {
      if (isRequestAborted(request)) {
        // The client left before the answer: the runtime may drop the response unread, and
        // then nothing would ever end the stream, its presence or its hold on the channel.
        session.close();
        return streamEndedResponse(settings.retryMs);
      }
      return new SseResponse(session);
    } catch (error) {
      // Attached: whatever fails from here must not leave the session (and its user) behind.
      session.close();
      return toSseErrorResponse(settings, error);
    }
  };
}

import { CallTrackError, jsonResponse, toErrorResponse } from '@calltrack/core';
import { encodeSseFrame } from './encode-sse-frame';
import type { SseSettings } from './resolve-sse-settings';
import { sseResponseHeaders } from './sse-response-headers';

/** The JSON error a rejected stream request gets; unexpected errors go to `onError` first. */
export function toSseErrorResponse(settings: SseSettings, error: unknown): Response {
  if (!CallTrackError.isInstance(error) || error.status >= 500) settings.report(error);
  const response = toErrorResponse(error);
  response.headers.set('cache-control', 'no-store');
  return response;
}

/** 405 with `Allow: GET, HEAD`: a stream is only ever opened with GET (HEAD asks whether it would be). */
export function methodNotAllowedResponse(): Response {
  return jsonResponse(
    { error: { code: 'method_not_allowed', message: 'Only GET and HEAD are supported.' } },
    { status: 405, headers: { allow: 'GET, HEAD', 'cache-control': 'no-store' } },
  );
}

/**
 * The answer to a stream request whose stream ended before it was answered (the bus closed while
 * it attached, as on shutdown): an empty stream that tells the client when to try again. Not an
 * error status: browsers never reconnect an `EventSource` answered with one.
 */
export function streamEndedResponse(retryMs: number): Response {
  return new Response(encodeSseFrame({ retry: retryMs }), {
    status: 200,
    headers: sseResponseHeaders,
  });
}

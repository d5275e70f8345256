import { CallTrackError, jsonResponse, toErrorResponse } from '@calltrack/core';
import type { SseSettings } from './resolve-sse-settings';

/** The JSON error a rejected stream request gets; unexpected errors go to `onError` first. */
export function toSseErrorResponse(settings: SseSettings, error: unknown): Response {
  if (!CallTrackError.isInstance(error) || error.status >= 500) settings.onError(error);
  const response = toErrorResponse(error);
  response.headers.set('cache-control', 'no-store');
  return response;
}

/** 405 with `Allow: GET`: a stream is only ever opened with GET. */
export function methodNotAllowedResponse(): Response {
  return jsonResponse(
    { error: { code: 'method_not_allowed', message: 'Only GET is supported.' } },
    { status: 405, headers: { allow: 'GET', 'cache-control': 'no-store' } },
  );
}

import { CallTrackError } from './errors/calltrack-error';
import { MethodNotAllowedError } from './errors/method-not-allowed-error';
import { RateLimitedError } from './errors/rate-limited-error';
import { jsonResponse } from './json-response';

/**
 * Turns an error into the JSON `Response` a handler answers with:
 * `{ "error": { "code", "message" } }` and the error's status for a {@link CallTrackError}
 * (with `Allow` for a `MethodNotAllowedError` and `Retry-After` for a `RateLimitedError`);
 * a generic 500 that reveals nothing for anything else.
 */
export function toErrorResponse(error: unknown): Response {
  if (CallTrackError.isInstance(error)) {
    const headers: Record<string, string> = {};
    if (MethodNotAllowedError.isInstance(error)) headers.allow = error.allow.join(', ');
    if (RateLimitedError.isInstance(error)) {
      headers['retry-after'] = String(error.retryAfterSeconds);
    }
    return jsonResponse(
      { error: { code: error.code, message: error.message } },
      { status: error.status, headers },
    );
  }
  return jsonResponse(
    { error: { code: 'internal_error', message: 'Internal server error.' } },
    { status: 500 },
  );
}

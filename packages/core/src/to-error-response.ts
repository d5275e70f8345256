import { BufferedResponse, type BufferedResponseParts } from './buffered-response';
import { CallTrackError } from './errors/calltrack-error';
import { MethodNotAllowedError } from './errors/method-not-allowed-error';
import { RateLimitedError } from './errors/rate-limited-error';
import {
  isUnavailableAnswer,
  toUnavailableError,
  unavailableRetryAfterSeconds,
} from './redis-unavailable';

/**
 * Turns an error into the JSON `Response` a handler answers with:
 * `{ "error": { "code", "message" } }` and the error's status for a {@link CallTrackError}
 * (with `Allow` for a `MethodNotAllowedError` and `Retry-After` for a `RateLimitedError`);
 * 503 `redis_unavailable` with `Retry-After` for an ioredis error saying Redis could not be
 * reached (and `Retry-After` for `BusUnavailableError` and the dialer's 503
 * `database_unavailable` too); a generic 500 that reveals nothing
 * for anything else.
 */
export function toErrorResponse(error: unknown): Response {
  const { status, headers, text } = toErrorAnswer(error);
  return new BufferedResponse(text, status, headers);
}

/**
 * {@link toErrorResponse} as status, headers and body text, for the Node bridge to write without
 * a `Response`.
 * @internal
 */
export function toErrorAnswer(failure: unknown): BufferedResponseParts {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const error = toUnavailableError(failure);
  if (CallTrackError.isInstance(error)) {
    if (MethodNotAllowedError.isInstance(error)) headers.allow = error.allow.join(', ');
    if (RateLimitedError.isInstance(error)) {
      headers['retry-after'] = String(error.retryAfterSeconds);
    } else if (isUnavailableAnswer(error)) {
      headers['retry-after'] = String(unavailableRetryAfterSeconds);
    }
    const body = { error: { code: error.code, message: error.message } };
    return { status: error.status, headers, text: JSON.stringify(body) };
  }
  const body = { error: { code: 'internal_error', message: 'Internal server error.' } };
  return { status: 500, headers, text: JSON.stringify(body) };
}
